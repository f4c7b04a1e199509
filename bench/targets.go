package main

import (
	"fmt"
	"strings"
	"time"
)

// verdict is one row of "Against the targets".
type verdict struct {
	target, have string
	ok           bool
}

// whyLink is where an unmet row of issue 19 points: the profile notes.
const whyLink = "[What the profile shows](#what-the-profile-shows)"

// targets renders the verdicts as a table. A row not met points at the
// profile notes, which say why and what is left.
func (r *report) targets() string {
	var b strings.Builder
	b.WriteString("| target | this run | |\n|---|---|---|\n")
	for _, v := range r.verdicts() {
		mark := "met"
		if !v.ok {
			mark = "**not met**: why, and what is left, in " + whyLink
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", v.target, v.have, mark)
	}
	for _, c := range r.contextRows() {
		fmt.Fprintf(&b, "| %s | %s | context, not judged: %s |\n", c.target, c.have, c.why)
	}
	return b.String()
}

// contextRows are the figures shown beside the verdicts without being
// judged: the lines of a goal that another line judges.
func (r *report) contextRows() []contextRow {
	_, floor := r.floorVerdicts()
	return append(floor, r.inprocContext()...)
}

// Issue 19's goal rows.
const (
	goalRPS     = 0.8  // Skyport's requests/s ÷ nginx's, at least
	goalCPU     = 1.25 // Skyport's CPU per request ÷ nginx's, at most
	goalP99     = 1.5  // Skyport's p99 ÷ nginx's, at most
	goalPlugins = 0.85 // key-auth + rate-limiting ÷ no plugins, at least
	goalRoutes  = 0.95 // 10k routes ÷ 1 route, at least (within 5%)
	goalIdleKB  = 64   // per idle kept-alive client connection, at most
)

// The stages the native request runs that "everything else" leaves out
// (the router at one route, the plugin chain without plugins).
const (
	benchStageRouter = "dataplane/proxy BenchmarkStages/router/routes=1"
	benchStageChain  = "dataplane/proxy BenchmarkStages/plugins=none"
)

// stageBudgets are issue 19's per-stage budgets, in CPU ns per request,
// and the BenchmarkStages result that measures each.
var stageBudgets = []struct {
	target, bench string
	ns            float64
}{
	{"router ≤ 250 ns, 1 route", benchStageRouter, 250},
	{"router ≤ 250 ns, 10k routes", "dataplane/proxy BenchmarkStages/router/routes=10000", 250},
	{"plugin chain without plugins ≤ 100 ns", benchStageChain, 100},
	{"metrics ≤ 200 ns", "dataplane/proxy BenchmarkStages/metrics", 200},
	{"access log ≤ 300 ns", "dataplane/proxy BenchmarkStages/access-log", 300},
}

// The benchmarks whose difference is the rest of Skyport's own work on a
// request: the native path against the h1 floor in the same rig, less the
// stages budgeted on their own that the native benchmark runs (it has no
// metrics observer and no access log). benchRest serves both in
// alternating rounds and reports the median of the rounds' differences
// (rest-cpu-ns/op); where a run lacks it, the two benchmarks' own figures
// are subtracted.
const (
	benchNative  = "dataplane/proxy BenchmarkProxyH1/path=native"
	benchH1Floor = "dataplane/proxy BenchmarkProxyH1Floor"
	benchRest    = "dataplane/proxy BenchmarkProxyH1Rest"
)

// verdicts compares the run with the goals: issue 19's rows from the
// floor section (per layout and scheme) and the Go benchmarks, then the
// other sections' goals.
func (r *report) verdicts() []verdict {
	var vs []verdict
	add := func(target string, ok bool, have string) { vs = append(vs, verdict{target, have, ok}) }
	floor, _ := r.floorVerdicts()
	vs = append(vs, floor...)
	for _, m := range r.idle {
		add(fmt.Sprintf("≤ 64 KB per idle keep-alive client connection (%s)", m.scheme), m.heapKB <= goalIdleKB,
			fmt.Sprintf("%.1f KB Go heap and stacks; resident memory %+.1f KB (%d connections)", m.heapKB, m.rssKB, m.conns))
	}
	if len(r.floor) == 0 {
		// Without the floor section, the proxy section's rows (wrk -t2,
		// unpinned, plain HTTP) are what the run has.
		vs = append(vs, r.proxyVerdicts()...)
	}
	vs = append(vs, r.stageVerdicts()...)
	vs = append(vs, r.inprocVerdicts()...)
	if h := r.httpLog; h != nil {
		t := h.median()
		add("http-log (batches of 100) ≥ 0.9 of no plugins", t >= 0.9, fmt.Sprintf("%.2f (median of %d alternating rounds)", t, len(h.none)))
	} else if hl, sky := r.row("Skyport, 1 route, http-log"), r.row("Skyport, 1 route"); hl != nil && sky != nil {
		t := hl.result.RPS / sky.result.RPS
		add("http-log (batches of 100) ≥ 0.9 of no plugins", t >= 0.9, fmt.Sprintf("%.2f", t))
	}
	var proxied, cached float64
	for _, gb := range r.gobench {
		if strings.HasSuffix(gb.name, "BenchmarkMatch/routes=10000") {
			add("router ≤ 1 µs per match at 10k routes", gb.nsPerOp <= 1000, fmt.Sprintf("%.0f ns", gb.nsPerOp))
		}
		switch {
		case strings.HasSuffix(gb.name, "plugins BenchmarkProxy/no-plugins"):
			proxied = gb.nsPerOp
		case strings.HasSuffix(gb.name, "plugins BenchmarkProxy/proxy-cache-hit"):
			cached = gb.nsPerOp
		}
	}
	if proxied > 0 && cached > 0 {
		t := proxied / cached
		add("proxy-cache hit ≥ 1.5× the throughput of a proxied request", t >= 1.5, fmt.Sprintf("%.2f×", t))
	}
	if a := r.apply; a != nil {
		add("10k-route apply ≤ 200 ms", a.p50 <= 200*time.Millisecond, ms(a.p50)+" (p50)")
		add("zero failed requests during applies", a.underLoad.Errors == 0, fmt.Sprint(a.underLoad.Errors))
	}
	for _, p := range r.propagation {
		if p.backend == "embedded" {
			add("local propagation p50 ≤ 200 ms", p.p50 <= 200*time.Millisecond, ms(p.p50))
		}
	}
	for _, m := range r.memory {
		if m.routes == 10000 {
			add("DP ≤ 150 MB resident at 10k routes", m.loadKB <= 150*1024, fmt.Sprintf("%d MB under load", m.loadKB/1024))
		}
	}
	return vs
}

// proxyVerdicts are issue 19's throughput rows as the proxy section
// measures them, for a run without the floor section.
func (r *report) proxyVerdicts() []verdict {
	var vs []verdict
	const where = " (proxy section: wrk -t2, unpinned, http)"
	sky, ngx := r.row("Skyport, 1 route"), r.row("nginx proxy_pass")
	if sky != nil && ngx != nil && ngx.result.RPS > 0 && ngx.result.P99 > 0 {
		t := sky.result.RPS / ngx.result.RPS
		vs = append(vs, verdict{"throughput ≥ 0.8× nginx" + where, fmt.Sprintf("%.2f×", t), t >= goalRPS})
		p := float64(sky.result.P99) / float64(ngx.result.P99)
		vs = append(vs, verdict{"p99 ≤ 1.5× nginx" + where, fmt.Sprintf("%.2f×", p), p <= goalP99})
	}
	if sky != nil && sky.result.RPS > 0 {
		if pl := r.row("Skyport, 1 route, key-auth + rate-limiting"); pl != nil {
			t := pl.result.RPS / sky.result.RPS
			vs = append(vs, verdict{"key-auth + rate-limiting ≥ 0.85 of no plugins" + where, fmt.Sprintf("%.2f", t), t >= goalPlugins})
		}
		if rt := r.row("Skyport, 10k routes"); rt != nil {
			t := rt.result.RPS / sky.result.RPS
			vs = append(vs, verdict{"10k routes within 5% of 1 route" + where, fmt.Sprintf("%.2f", t), t >= goalRoutes})
		}
	}
	return vs
}

// stageVerdicts are issue 19's per-stage budgets, in CPU ns per request
// where the benchmark reports it (wall time otherwise, said so), and the
// rest of Skyport's own work on a request.
func (r *report) stageVerdicts() []verdict {
	var vs []verdict
	for _, s := range stageBudgets {
		gb, ok := r.goBench(s.bench)
		if !ok {
			continue
		}
		ns, kind := gb.cpuOrWall()
		vs = append(vs, verdict{s.target, fmt.Sprintf("%.0f %s ns/op, %d allocs/op", ns, kind, gb.allocs), ns <= s.ns})
	}
	router, ok1 := r.goBench(benchStageRouter)
	chain, ok2 := r.goBench(benchStageChain)
	if !ok1 || !ok2 || router.cpuNsPerOp <= 0 || chain.cpuNsPerOp <= 0 {
		return vs
	}
	stages := fmt.Sprintf("router %.0f − plugin chain %.0f", router.cpuNsPerOp, chain.cpuNsPerOp)
	var above float64
	var how string
	rb, ok := r.goBench(benchRest)
	if v, has := rb.metrics["rest-cpu-ns/op"]; ok && has {
		// A difference at or below zero is a measurement too (the native
		// path no dearer than the floor in most rounds), not a missing one.
		above = v
		how = fmt.Sprintf("`BenchmarkProxyH1Rest` (native and floor in alternating rounds): the rounds' median difference %.0f (medians native %.0f, floor %.0f) − %s",
			above, rb.metrics["native-cpu-ns/op"], rb.metrics["floor-cpu-ns/op"], stages)
	} else {
		native, ok1 := r.goBench(benchNative)
		floor, ok2 := r.goBench(benchH1Floor)
		if !ok1 || !ok2 || native.cpuNsPerOp <= 0 || floor.cpuNsPerOp <= 0 {
			return vs
		}
		above = native.cpuNsPerOp - floor.cpuNsPerOp
		how = fmt.Sprintf("`BenchmarkProxyH1/path=native` %.0f − `BenchmarkProxyH1Floor` %.0f − %s",
			native.cpuNsPerOp, floor.cpuNsPerOp, stages)
	}
	rest := above - router.cpuNsPerOp - chain.cpuNsPerOp
	vs = append(vs, verdict{"everything else ≤ 1 µs", fmt.Sprintf("%.0f CPU ns/op: %s", rest, how), rest <= 1000})
	return vs
}

// goBench finds a Go benchmark's result by its full name.
func (r *report) goBench(name string) (goBench, bool) {
	for _, gb := range r.gobench {
		if gb.name == name {
			return gb, true
		}
	}
	return goBench{}, false
}

// floorFind is the floor section's row of one proxy in one layout and
// scheme.
func (r *report) floorFind(layout, scheme, proxy string) (floorRow, bool) {
	for _, f := range r.floor {
		if f.layout == layout && f.scheme == scheme && f.proxy == proxy {
			return f, true
		}
	}
	return floorRow{}, false
}
