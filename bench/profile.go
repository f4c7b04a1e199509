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
		w("Where the CPU per request sits in this run's `floor` section (medians of %d to %d interleaved passes; in brackets, the passes' range for the same row, which is how far the machine moved it):\n\n", pairsMin, pairsMax)
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
  time. Where the column is larger than that, read the ranges: when
  Skyport's and the floor's overlap, the difference is within what the
  machine moved the same row; when they do not, re-profile.
- **key-auth + rate-limiting** run their access phase on the native path
  (` + "`plugin.ViewAccessor`" + `), and that phase is small: 1.4 µs per request in
  a CPU profile of ` + "`skyport dp`" + ` in this rig (unpinned, http, ` + "`wrk -t1 -c64`" + `,
  10 s each with and without the plugins, 2026-11-28 02:00 UTC, load 12),
  which put the request with them at 46 µs of CPU against 29 without.
  The rest is the path such a request takes after them: its response is
  relayed through ` + "`relay`" + ` and the header filters (a header map, h1's
  ` + "`WriteHeader`" + ` and flush, ` + "`decorate`" + `) instead of ` + "`relayView`" + `, about 4–5 µs
  more; allocation and GC 2–3 µs more; and the upstream request's write
  5–6 µs more, in the system call itself (on loopback a write carries the
  upstream's receive), which the profile does not explain further. What
  is left: the response view for requests with plugins (the header
  filters on h1's fields, as the access phase already is), then the
  write's cost, measured with the same request head with and without
  the consumer's fields. In process (` + "`BenchmarkProxyH1Plugins`" + `, one
  connection) the ratio was 0.96; under 64 connections it is not.
- **10k routes**: the router stage costs 3–7% more at 10,000 routes than
  at one (about 10 ns, a Go map of 10,000 hosts against one of a single
  host), a thousandth of a request. A larger gap between the two rows
  that does not hold across passes and runs is the machine's; one that
  does is not the router's, and the next look is a profile of the
  10,000-route data plane (its heap: the garbage collector marks the
  compiled routes).
- **Idle connections**: an idle kept-alive connection holds h1's read
  buffer (4 KiB) and its goroutine's stack; over TLS, crypto/tls's
  connection state and record buffers besides.
- **p99 and requests/s** track what else runs on these two shared cores,
  where wrk, the upstream and the proxy compete for them; the same row
  moved by up to 2× between passes. CPU per request is the figure that
  holds.
`
