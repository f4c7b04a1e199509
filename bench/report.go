package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// report collects every section's numbers and renders BENCHMARKS.md.
type report struct {
	opts              options
	started, finished time.Time
	machine           string
	proxy             []proxyRow
	floor             []floorRow
	gobench           []goBench
	apply             *applyResult
	propagation       []propagationRow
	memory            []memoryRow
	fleet             []*fleetResult
	httpLog           *httpLogResult
	notes             []string
}

func machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.Fields(strings.SplitN(string(data), "\n", 2)[0])[1] + " kB"
	}
	ver := func(cmd string, args ...string) string {
		out, err := exec.Command(cmd, args...).CombinedOutput()
		if err != nil && len(out) == 0 {
			return cmd + " not found"
		}
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return fmt.Sprintf("%d × %s, %s memory, %s/%s, %s; %s; %s; %s; %s",
		runtime.NumCPU(), cpu, mem, runtime.GOOS, runtime.GOARCH, runtime.Version(),
		ver("nginx", "-v"), ver("caddy", "version"), ver("haproxy", "-v"), ver("wrk", "-v"))
}

func (r *report) row(name string) *proxyRow {
	for i := range r.proxy {
		if r.proxy[i].name == name {
			return &r.proxy[i]
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Skyport benchmarks\n\n")
	w("Produced by `make bench` (`bench/run.sh` → `go run ./bench -duration %s -connections %d -threads %d -writes %d`) on %s, in %s.\n\n",
		r.opts.duration, r.opts.conns, r.opts.threads, r.opts.writes, r.started.UTC().Format("2006-01-02 15:04 UTC"), r.finished.Sub(r.started).Round(time.Second))
	w("Machine: %s.\n\n", r.machine)
	w("Every row below was measured in this one run, one after another, on the same machine, so ratios between rows hold even where absolute numbers are noisy. ")
	w("wrk, the proxies and the shared upstream (nginx returning a fixed %d-byte body) all run on the same %d cores, so absolute numbers understate what a dedicated machine does.\n\n", len(upstreamBody), runtime.NumCPU())

	if len(r.proxy) > 0 {
		w("## Proxy throughput and latency\n\n")
		w("`wrk -t%d -c%d -d%s --latency` (keep-alive) after a 2 s warm-up, against the same upstream.\n\n", r.opts.threads, r.opts.conns, r.opts.duration)
		w("| proxy | requests/s | p50 | p99 | errors |\n|---|---:|---:|---:|---:|\n")
		for _, p := range r.proxy {
			w("| %s | %.0f | %s | %s | %d |\n", p.name, p.result.RPS, ms(p.result.P50), ms(p.result.P99), p.result.Errors)
		}
		sky := r.row("Skyport, 1 route")
		if sky != nil {
			w("\nSkyport (1 route, no plugins) against each peer — throughput ratio (higher is better) and p99 ratio (lower is better):\n\n")
			w("| peer | throughput | p99 |\n|---|---:|---:|\n")
			for _, peer := range []string{"nginx proxy_pass", "Caddy reverse_proxy", "HAProxy"} {
				if p := r.row(peer); p != nil {
					w("| %s | %s | %s |\n", peer, ratio(sky.result.RPS, p.result.RPS), ratio(float64(sky.result.P99), float64(p.result.P99)))
				}
			}
			for _, c := range [][2]string{
				{"Skyport, 10k routes", "Skyport, 1 route"},
				{"Skyport, 1 route, key-auth + rate-limiting", "Skyport, 1 route"},
				{"Skyport, 10k routes, key-auth + rate-limiting", "Skyport, 10k routes"},
				{"Skyport, 1 route, http-log", "Skyport, 1 route"},
			} {
				if a, b2 := r.row(c[0]), r.row(c[1]); a != nil && b2 != nil {
					w("\n%s: %s of %s's throughput.", c[0], ratio(a.result.RPS, b2.result.RPS), c[1])
				}
			}
			w("\n\n")
		}
	}
	if r.httpLog != nil {
		b.WriteString(r.httpLog.markdown(r.opts))
	}
	b.WriteString(r.floorMarkdown())
	if len(r.gobench) > 0 {
		w("## Go benchmarks: router and proxy path\n\n")
		for _, gb := range goBenchmarks {
			w("- `go %s`\n", shellJoin(goBenchCommand(gb.pattern, gb.pkg)))
		}
		w("\nThe proxy benchmarks send each request through the handler to a loopback upstream (httptest), so they include the upstream round trip.\n\n")
		w("| benchmark | ns/op | B/op | allocs/op |\n|---|---:|---:|---:|\n")
		for _, gb := range r.gobench {
			w("| %s | %.0f | %d | %d |\n", gb.name, gb.nsPerOp, gb.bytes, gb.allocs)
		}
		w("\n")
	}
	if a := r.apply; a != nil {
		w("## Apply\n\nA %d-route snapshot (%d bytes compressed): read from a local file, verify (SHA-256, Ed25519), decode, compile, swap — in process, `go run ./bench` section `apply`.\n\n", a.routes, a.snapshotBytes)
		w("| measure | value |\n|---|---:|\n")
		w("| apply p50 (20 applies) | %s |\n| apply p99 | %s |\n| apply max | %s |\n| peak resident memory of the process | %d MB |\n", ms(a.p50), ms(a.p99), ms(a.max), a.peakRSSKB/1024)
		w("| wrk during %d applies: requests/s | %.0f |\n| wrk during %d applies: failed requests | %d of %d |\n\n", a.appliesUnderLoad, a.underLoad.RPS, a.appliesUnderLoad, a.underLoad.Errors, a.underLoad.Requests)
	}
	if len(r.propagation) > 0 {
		w("## Propagation\n\nAdmin API write (a new route) → all 3 data planes serving it, over %d writes, `skyport local --dp=false` with three `skyport dp`.\n\n", r.opts.writes)
		w("| backend | p50 | p99 | max |\n|---|---:|---:|---:|\n")
		for _, p := range r.propagation {
			name := p.backend
			if name == "aws" {
				name = "aws (DynamoDB + stream + S3 on moto_server)"
			}
			w("| %s | %s | %s | %s |\n", name, ms(p.p50), ms(p.p99), ms(p.max))
		}
		w("\n")
	}
	if len(r.memory) > 0 {
		w("## Memory\n\nData plane resident memory (VmRSS) from a declarative configuration: idle after it is ready, and the peak under the wrk load above.\n\n")
		w("| routes | idle | under load |\n|---:|---:|---:|\n")
		for _, m := range r.memory {
			w("| %d | %d MB | %d MB |\n", m.routes, m.idleKB/1024, m.loadKB/1024)
		}
		w("\n")
	}
	if len(r.fleet) > 0 {
		w("%s\n", fleetMarkdown(r.fleet))
	}
	w("## Against the targets\n\n")
	targets := r.targets()
	b.WriteString(targets)
	if strings.Contains(targets, "not met") {
		b.WriteString(profileNotes)
	}
	if len(r.notes) > 0 {
		w("\n## Notes\n\n")
		for _, n := range r.notes {
			w("- %s\n", n)
		}
	}
	return b.String()
}

// targets compares the run with the team's goals.
func (r *report) targets() string {
	var b strings.Builder
	check := func(name string, ok bool, have string) {
		mark := "met"
		if !ok {
			mark = "**not met**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, have, mark)
	}
	b.WriteString("| target | this run | |\n|---|---|---|\n")
	sky, ngx := r.row("Skyport, 1 route"), r.row("nginx proxy_pass")
	if sky != nil && ngx != nil {
		t := sky.result.RPS / ngx.result.RPS
		check("throughput ≥ 0.8× nginx", t >= 0.8, fmt.Sprintf("%.2f×", t))
		p := float64(sky.result.P99) / float64(ngx.result.P99)
		check("p99 ≤ 1.5× nginx", p <= 1.5, fmt.Sprintf("%.2f×", p))
	}
	if pl := r.row("Skyport, 1 route, key-auth + rate-limiting"); pl != nil && sky != nil {
		t := pl.result.RPS / sky.result.RPS
		check("key-auth + rate-limiting ≥ 0.85 of no plugins", t >= 0.85, fmt.Sprintf("%.2f", t))
	}
	if h := r.httpLog; h != nil {
		t := h.median()
		check("http-log (batches of 100) ≥ 0.9 of no plugins", t >= 0.9, fmt.Sprintf("%.2f (median of %d alternating rounds)", t, len(h.none)))
	} else if hl := r.row("Skyport, 1 route, http-log"); hl != nil && sky != nil {
		t := hl.result.RPS / sky.result.RPS
		check("http-log (batches of 100) ≥ 0.9 of no plugins", t >= 0.9, fmt.Sprintf("%.2f", t))
	}
	var proxied, cached float64
	for _, gb := range r.gobench {
		if strings.HasSuffix(gb.name, "BenchmarkMatch/routes=10000") {
			check("router ≤ 1 µs per match at 10k routes", gb.nsPerOp <= 1000, fmt.Sprintf("%.0f ns", gb.nsPerOp))
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
		check("proxy-cache hit ≥ 1.5× the throughput of a proxied request", t >= 1.5, fmt.Sprintf("%.2f×", t))
	}
	if a := r.apply; a != nil {
		check("10k-route apply ≤ 200 ms", a.p50 <= 200*time.Millisecond, ms(a.p50)+" (p50)")
		check("zero failed requests during applies", a.underLoad.Errors == 0, fmt.Sprint(a.underLoad.Errors))
	}
	for _, p := range r.propagation {
		if p.backend == "embedded" {
			check("local propagation p50 ≤ 200 ms", p.p50 <= 200*time.Millisecond, ms(p.p50))
		}
	}
	for _, m := range r.memory {
		if m.routes == 10000 {
			check("DP ≤ 150 MB resident at 10k routes", m.loadKB <= 150*1024, fmt.Sprintf("%d MB under load", m.loadKB/1024))
		}
	}
	return b.String()
}

// shellJoin quotes the arguments a shell would otherwise interpret.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "^$|*? ") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// profileNotes says where the data plane's time goes, for the targets not
// met. It comes from CPU profiles of `skyport dp --pprof-listen` under the
// same wrk load (`go tool pprof -top http://…/debug/pprof/profile?seconds=10`),
// taken while the proxy path was being optimized; re-profile after changes.
const profileNotes = `
### What the profile shows

CPU profiles of the data plane under this load
(` + "`skyport dp --declarative-config … --pprof-listen 127.0.0.1:6060`" + `, then
` + "`go tool pprof -top http://127.0.0.1:6060/debug/pprof/profile?seconds=10`" + ` while wrk runs):

- **System calls, about 45% of the data plane's CPU**: a read and a write per
  request on each side (client and upstream), plus net/http's background read
  per request; on loopback the sender's write also runs the receiver's TCP
  processing. nginx spends about 11 µs of CPU per proxied request here, a bare
  Go net/http server about 10 µs per request it answers itself; Skyport spends
  about 33 µs per proxied request (60 µs before the optimizations below).
- **net/http's server side, about 15%**: request parsing, header maps, the
  background-read goroutine, deadlines. **Allocation and GC, 8–10%**;
  **scheduler, about 5%**. Skyport's own code (routing, plugins, metrics, the
  access log) is under 10% in all.
- Already fixed, each re-measured: responses written in one syscall instead of
  two or three; the access log batched off the request path (it cost 10%);
  plain-HTTP upstream requests without a body sent and read on the request's
  own goroutine instead of through http.Transport's goroutine hand-offs;
  fewer header copies than httputil.ReverseProxy makes; cached Prometheus
  label children; ` + "`--gc-percent`" + ` 200. Together: 18k → 36k requests/s.
- With key-auth + rate-limiting the extra cost is mostly header volume (five
  RateLimit headers on the response, consumer headers on the request): map
  growth, cloning and serialization, not the plugins' logic (under 1 µs per
  request in BenchmarkAccess).
- What remains would take replacing net/http's server side (an event loop
  over raw connections, as nginx and HAProxy have); p99 tracks throughput on
  these two shared cores, where wrk, the upstream and the proxy compete.
`
