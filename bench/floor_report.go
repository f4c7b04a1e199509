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
	w("(dataplane/h1 and a pooled upstream client; no routing, plugins, metrics or logs) and `skyport dp` (one route, no plugins, `--access-log off`), `wrk -t1 -c%d -d%s --latency`, ", r.opts.conns, r.opts.duration)
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
