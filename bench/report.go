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
	floorProfiles     []floorProfile
	idle              []idleRow
	gobench           []goBench
	inproc            []inprocResult
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
		w("CPU ns/op is the process's CPU time per operation (`internal/cputime`), for the benchmarks that report it: the figure that holds on a loaded machine.\n\n")
		w("| benchmark | ns/op | CPU ns/op | B/op | allocs/op |\n|---|---:|---:|---:|---:|\n")
		for _, gb := range r.gobench {
			cpu := "—"
			if gb.cpuNsPerOp > 0 {
				cpu = fmt.Sprintf("%.0f", gb.cpuNsPerOp)
			}
			w("| %s | %.0f | %s | %d | %d |\n", gb.name, gb.nsPerOp, cpu, gb.bytes, gb.allocs)
		}
		w("\n")
	}
	b.WriteString(r.inprocMarkdown())
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
			if m.rssErr != nil {
				w("| %d | not read (%v) | not read |\n", m.routes, m.rssErr)
				continue
			}
			w("| %d | %d MB | %d MB |\n", m.routes, m.idleKB/1024, m.loadKB/1024)
		}
		w("\n")
	}
	if len(r.fleet) > 0 {
		w("%s\n", fleetMarkdown(r.fleet))
	}
	w("## Against the targets\n\n")
	b.WriteString(r.pairedPreamble())
	targets := r.targets()
	b.WriteString(targets)
	if strings.Contains(targets, "not met") {
		b.WriteString(r.profileNotes())
	}
	if len(r.notes) > 0 {
		w("\n## Notes\n\n")
		for _, n := range r.notes {
			w("- %s\n", n)
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
