package main

import (
	"fmt"
	"strings"
)

// profileNotes says, for the targets not met, why and what is left: this
// run's floor figures side by side (where the CPU per request sits
// between nginx, the h1 floor and Skyport), then what the profiles
// found. The profiles are not taken by the run; the notes name them and
// the kept section that holds their runs, and say only what holds
// whatever this run measured.
func (r *report) profileNotes() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("\n### What the profile shows\n\n")
	if t := r.floorGap(); t != "" {
		w("Where the CPU per request sits in this run's `floor` section (medians of %d interleaved passes; in brackets, the passes' range for the same row, which is how far the machine moved it):\n\n", floorPasses)
		b.WriteString(t)
		w("\n")
	}
	b.WriteString(profileFindings)
	return b.String()
}

// floorGap is a table, per layout and scheme, of nginx's CPU per request,
// the h1 floor's and Skyport's against it, what Skyport spends above its
// floor and each one's system calls per request.
func (r *report) floorGap() string {
	var b strings.Builder
	for _, sky := range r.floor {
		if sky.proxy != floorSkyport {
			continue
		}
		ngx, ok1 := r.floorFind(sky.layout, sky.scheme, floorNginx)
		h1, ok2 := r.floorFind(sky.layout, sky.scheme, floorH1)
		if !ok1 || !ok2 || ngx.cpuUS <= 0 {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("| layout | scheme | nginx: CPU µs/request | h1 floor: × nginx | Skyport: × nginx | Skyport − floor: µs/request | syscalls/request: nginx · floor · Skyport |\n")
			b.WriteString("|---|---|---:|---:|---:|---:|---|\n")
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f (%.1f–%.1f) | %.2f× (%.1f–%.1f µs) | %.2f× (%.1f–%.1f µs) | %.1f | %s · %s · %s |\n",
			sky.layout, sky.scheme, ngx.cpuUS, ngx.cpuMin, ngx.cpuMax,
			h1.cpuUS/ngx.cpuUS, h1.cpuMin, h1.cpuMax,
			sky.cpuUS/ngx.cpuUS, sky.cpuMin, sky.cpuMax,
			sky.cpuUS-h1.cpuUS, syscalls(ngx), syscalls(h1), syscalls(sky))
	}
	return b.String()
}

func syscalls(f floorRow) string {
	if f.sysPerReq <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", f.sysPerReq)
}

// profileFindings is what the profiles of the HTTP/1.1 path found. Their
// commands, runs and dates are in BENCHMARKS.md's kept section "HTTP/1.1
// on dataplane/h1"; re-profile after the data path changes.
const profileFindings = `The gap to nginx has two parts, and the profiles say which is which.
They are not taken by this run: the kept section "HTTP/1.1 on dataplane/h1"
above has their commands, runs and dates (CPU profiles of ` + "`skyport dp --pprof-listen`" + `
under ` + "`wrk -t1 -c64`" + `, of ` + "`BenchmarkProxyH1/path=native`" + ` beside ` + "`BenchmarkProxyH1Floor`" + `,
and ` + "`strace -c -f`" + `, 2026-11-27 and 28).

- **The floor's part** (the h1 floor's column: dataplane/h1 and a pooled
  upstream client, none of Skyport's routing, plugins, metrics or logs).
  System calls are 60–75% of the CPU in the floor's profile and in
  Skyport's, the same count per request in both, one or two more than
  nginx's (the syscalls column). On each of the two sockets a read finds
  nothing (EAGAIN) before the goroutine parks: Go's netpoller reads
  before it waits (writing the upstream request inside the wait, to save
  that read, lost readinesses and was not kept). And the scheduler hands
  goroutines between the client's and the upstream's connections
  (` + "`findRunnable`, `netpoll`" + `, futex wake-ups), more so unpinned, where nginx
  runs single-threaded workers and Go's two Ps pass goroutines to each
  other. Neither is in the proxy's code: it is how a goroutine per
  connection meets the poller. What is left there is an event loop that
  serves both sides of a request without parking between them.
- **Skyport's part** (the "Skyport − floor" column). In process, in the
  same rig, the native path costs 1.07–1.13× the floor, 3–5 µs per
  request: the fields the proxy adds to the response (` + "`relayView`" + `'s five)
  and to the upstream request's head (seven: Kong's X-Forwarded-*,
  X-Real-IP, Via, the request id, the latency fields), the upstream
  client's pool and deadlines (a clock read costs 230–290 ns on this
  virtual machine), h1's client-abort watch armed per request, metrics
  and the router; the stage rows above give the budgeted stages' own CPU
  time. Where the column is larger than that, the passes' ranges show the
  machine's noise rather than code.
- **key-auth + rate-limiting** run their access phase on the native path
  (` + "`plugin.ViewAccessor`" + `): what they add is header volume (five RateLimit
  fields on the response, the consumer's on the request) and about ten
  allocations per request, not their logic (under 1 µs in BenchmarkAccess).
- **10k routes**: the router stage costs 3–7% more at 10,000 routes than
  at one (about 10 ns, a Go map of 10,000 hosts against one of a single
  host), a thousandth of a request; a larger gap between the two rows is
  within the passes' ranges.
- **Idle connections**: an idle kept-alive connection holds h1's read
  buffer (4 KiB) and its goroutine's stack; over TLS, crypto/tls's
  connection state and record buffers besides.
- **p99 and requests/s** track what else runs on these two shared cores,
  where wrk, the upstream and the proxy compete for them; the same row
  moved by up to 2× between passes. CPU per request is the figure that
  holds.
`
