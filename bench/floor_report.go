package main

import (
	"fmt"
	"strings"
)

// floorMarkdown renders the HTTP/1.1 floor: nginx against the minimal
// proxy on dataplane/h1, side by side per layout and scheme.
func (r *report) floorMarkdown() string {
	if len(r.floor) == 0 {
		return ""
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## HTTP/1.1: Skyport and its floor against nginx\n\n")
	w("`go run ./bench -skip proxy,gobench,apply,propagation,memory` section `floor`: nginx `proxy_pass` and `bench h1proxy` ")
	w("(dataplane/h1 and a pooled upstream client; no routing, plugins, metrics or logs; \"h1, event loop\" is `bench h1proxy -loop`: the same served on dataplane/loop's event loops, one per GOMAXPROCS, the upstream dialed from them) and `skyport dp` (one route, no plugins, `--access-log off`, its default `--event-loop`; \"skyport, event loop on|off\": the other setting, plain only, as TLS listeners never run on event loops; ")
	w("the same with key-auth + rate-limiting, `apikey` sent; and its route among 10,000), `wrk -t1 -c%d -d%s --latency`, ", r.opts.conns, r.opts.duration)
	w("interleaved passes, medians of each row's passes (the passes column). ")
	w("\"1 core\": the proxy under test alone on CPU 1 (nginx with one worker; a Go proxy's GOMAXPROCS follows its affinity to 1), wrk and the upstream (an nginx of its own) on CPU 0: ")
	w("on two cores the one layout in which neither the load nor the upstream takes the proxy's CPU, the same for every proxy. \"unpinned\": nothing pinned (nginx `worker_processes auto`, Go with two Ps). ")
	w("CPU µs/request is the proxy's utime+stime from /proc over the run ÷ requests; syscalls/request is perf's raw_syscalls count over a 3 s run.\n\n")
	w("The \"× nginx\" columns are ratios of medians, for reading; \"Against the targets\" judges each goal on the median of per-pair ratios instead: ")
	w("each pass measures nginx just before Skyport and Skyport just before its key-auth + rate-limiting row (every other pass in reverse order), each Skyport pass is divided by the pass next to it, ")
	w("and the median of those ratios is judged, with the pairs' spread stated. Every row gets %d passes; a layout and scheme whose pairs fall on both sides of a limit gets %d more of the rows concerned at a time, up to %d.\n\n", pairsMin, pairsStep, pairsMax)
	w("| layout | scheme | proxy | passes | requests/s | × nginx | CPU µs/req (range) | × nginx | syscalls/req | p99 | × nginx | errors |\n")
	w("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range r.floor {
		ref := r.floorRef(row)
		sys := "—"
		if row.sysPerReq > 0 {
			sys = fmt.Sprintf("%.1f", row.sysPerReq)
		}
		w("| %s | %s | %s | %d | %.0f | %s | %.1f (%.1f–%.1f) | %s | %s | %s | %s | %d |\n", row.layout, row.scheme, row.proxy, len(row.passes),
			row.rps, ratio(row.rps, ref.rps), row.cpuUS, row.cpuMin, row.cpuMax, ratio(row.cpuUS, ref.cpuUS), sys,
			ms(row.p99), ratio(float64(row.p99), float64(ref.p99)), row.errors)
	}
	w("\n")
	if len(r.idle) > 0 {
		w("Memory per idle kept-alive client connection: `skyport dp` (one route, no plugins) with %d client connections that each sent one request and stay open. ", r.idle[0].conns)
		w("Go heap and stacks: the growth of `go_memstats_heap_alloc_bytes` + `go_memstats_stack_inuse_bytes` on its `/metrics`, each read after a collection forced through `--pprof-listen` (`/debug/pprof/heap?gc=1`), as dataplane/h1's `TestIdleConnectionMemory` counts it; ")
		w("resident: the growth of its VmRSS. The kernel's socket buffers are in neither.\n\n")
		w("| scheme | connections | Go heap and stacks per connection | resident per connection |\n|---|---:|---:|---:|\n")
		for _, m := range r.idle {
			w("| %s | %d | %.1f KB | %.1f KB |\n", m.scheme, m.conns, m.heapKB, m.rssKB)
		}
		w("\n")
	}
	return b.String()
}

// floorRef is nginx's row of the same layout and scheme.
func (r *report) floorRef(row floorRow) floorRow {
	for _, f := range r.floor {
		if f.layout == row.layout && f.scheme == row.scheme && f.proxy == "nginx" {
			return f
		}
	}
	return row
}
