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
	w("%d interleaved passes, medians. \"1 core\": the proxy pinned to CPU 1 (nginx with one worker), wrk and the upstream to CPU 0. ", floorPasses)
	w("CPU µs/request is the proxy's utime+stime from /proc over the run ÷ requests; syscalls/request is perf's raw_syscalls count over a 3 s run.\n\n")
	w("| layout | scheme | proxy | requests/s | × nginx | CPU µs/req | × nginx | syscalls/req | p99 | × nginx | errors |\n")
	w("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range r.floor {
		ref := r.floorRef(row)
		sys := "—"
		if row.sysPerReq > 0 {
			sys = fmt.Sprintf("%.1f", row.sysPerReq)
		}
		w("| %s | %s | %s | %.0f | %s | %.1f | %s | %s | %s | %s | %d |\n", row.layout, row.scheme, row.proxy,
			row.rps, ratio(row.rps, ref.rps), row.cpuUS, ratio(row.cpuUS, ref.cpuUS), sys,
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
