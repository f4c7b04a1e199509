package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// inprocCompare is one of issue 19's goals measured in process: a Go
// benchmark with the feature against the same benchmark without it,
// each pass running the two in separate processes one after the other,
// judged on the median of the per-pair ratios of their CPU ns/op
// (ref ÷ subject: the throughput a CPU-bound proxy keeps).
type inprocCompare struct {
	goal, pkg    string
	subject, ref string // benchmark names, sub-benchmarks after "/"
	// paired, when set, is one benchmark that runs both sides
	// interleaved in one process; subject and ref are then the units of
	// the CPU per request it reports for each.
	paired string
	bound  bound
	// judged is false for a line shown as context beside the verdict of
	// another (the floor section's wrk line).
	judged bool
	why    string
}

var inprocCompares = []inprocCompare{
	{goal: goalRoutesText, pkg: "./dataplane/proxy", paired: "BenchmarkProxyH1RoutesPaired",
		subject: "routes10000-cpu-ns/op", ref: "routes1-cpu-ns/op",
		bound: bound{goalRoutes, true}, judged: true},
	{goal: goalPluginsText, pkg: "./dataplane/proxy",
		subject: "BenchmarkProxyH1Plugins/plugins=key-auth+rate-limiting/path=native",
		ref:     "BenchmarkProxyH1Plugins/plugins=none/path=native",
		bound:   bound{goalPlugins, true},
		why: "its CPU per request includes the benchmark's client and upstream loops, which dilute the plugins' share; " +
			"the verdict is the floor section's wrk line, which counts the proxy's CPU alone and can resolve 15%"},
}

// inprocResult is a comparison's CPU ns/op, pass by pass.
type inprocResult struct {
	inprocCompare
	subjectNs, refNs []float64
}

// ratios are ref ÷ subject per pass.
func (r inprocResult) ratios() pairRatios {
	var out pairRatios
	for i := range min(len(r.subjectNs), len(r.refNs)) {
		if r.subjectNs[i] > 0 {
			out = append(out, r.refNs[i]/r.subjectNs[i])
		}
	}
	return out
}

// inprocBenchtime is each benchmark's -test.benchtime in a pass.
const inprocBenchtime = "1s"

// benchInproc builds each package's test binary once and runs every
// inprocCompare's pair pairsMin times, then pairsStep at a time up to
// pairsMax while the pairs are not settled, alternating which of the
// two runs first.
func benchInproc(ctx context.Context, e *env, _ options, r *report) error {
	bins := map[string]string{}
	for _, c := range inprocCompares {
		if _, ok := bins[c.pkg]; ok {
			continue
		}
		bin := filepath.Join(e.dir, strings.ReplaceAll(strings.Trim(c.pkg, "./"), "/", "-")+".test")
		if out, err := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, c.pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("building %s's tests: %w: %s", c.pkg, err, out)
		}
		bins[c.pkg] = bin
	}
	for _, c := range inprocCompares {
		started := time.Now()
		res := inprocResult{inprocCompare: c}
		for pass := 0; pass < pairsMax; pass++ {
			if pass >= pairsMin && (pass-pairsMin)%pairsStep == 0 && res.ratios().settled(c.bound) {
				break
			}
			ns, err := runPair(ctx, bins[c.pkg], c, pass)
			if err != nil {
				return err
			}
			res.subjectNs = append(res.subjectNs, ns[c.subject])
			res.refNs = append(res.refNs, ns[c.ref])
			fmt.Fprintf(os.Stderr, "  pass %d %s%s: %.0f against %.0f CPU ns/op\n", pass+1, c.paired, c.subject, ns[c.subject], ns[c.ref])
		}
		fmt.Fprintf(os.Stderr, "  %s: %s in %s\n", c.goal, res.ratios().describe(""), time.Since(started).Round(time.Second))
		r.inproc = append(r.inproc, res)
	}
	return nil
}

// runPair runs one pass of a comparison and returns the CPU ns/op of
// each side, by subject and ref: the paired benchmark once, or the two
// benchmarks one after the other, which first alternating by pass.
func runPair(ctx context.Context, bin string, c inprocCompare, pass int) (map[string]float64, error) {
	ns := map[string]float64{}
	if c.paired != "" {
		out, err := runBench(ctx, bin, c.pkg, c.paired)
		if err != nil {
			return nil, err
		}
		for _, unit := range []string{c.subject, c.ref} {
			v, ok := benchMetric(out, unit)
			if !ok {
				return nil, fmt.Errorf("no %s from %s in: %s", unit, c.paired, out)
			}
			ns[unit] = v
		}
		return ns, nil
	}
	first, second := c.ref, c.subject
	if pass%2 == 1 {
		first, second = second, first
	}
	for _, name := range []string{first, second} {
		v, err := runInproc(ctx, bin, c.pkg, name)
		if err != nil {
			return nil, err
		}
		ns[name] = v
	}
	return ns, nil
}

// benchMetric is the value of a metric a benchmark reported in unit.
func benchMetric(out, unit string) (float64, bool) {
	m := regexp.MustCompile(`\s([\d.]+) ` + regexp.QuoteMeta(unit) + `\s`).FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// runBench runs one benchmark of a test binary and returns its output.
func runBench(ctx context.Context, bin, pkg, name string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", benchPattern(name),
		"-test.benchtime", inprocBenchtime, "-test.benchmem")
	cmd.Dir = pkg
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s -test.bench %s: %w: %s", bin, name, err, out)
	}
	return string(out), nil
}

// runInproc runs one benchmark of a test binary and returns its CPU
// ns/op.
func runInproc(ctx context.Context, bin, pkg, name string) (float64, error) {
	out, err := runBench(ctx, bin, pkg, name)
	if err != nil {
		return 0, err
	}
	for _, gb := range parseGoBench(pkg, out) {
		if strings.HasSuffix(gb.name, " "+name) && gb.cpuNsPerOp > 0 {
			return gb.cpuNsPerOp, nil
		}
	}
	return 0, fmt.Errorf("no CPU ns/op for %s in: %s", name, out)
}

// benchPattern is the -test.bench pattern that selects name alone: each
// of its "/"-separated levels anchored and quoted.
func benchPattern(name string) string {
	levels := strings.Split(name, "/")
	for i, l := range levels {
		levels[i] = "^" + regexp.QuoteMeta(l) + "$"
	}
	return strings.Join(levels, "/")
}

// inprocVerdicts judge the judged in-process lines.
func (r *report) inprocVerdicts() []verdict {
	var vs []verdict
	for _, res := range r.inproc {
		p := res.ratios()
		if res.judged && len(p) > 0 {
			have := res.have()
			if sky, ok := r.floorFind(floorPinned, "http", floorSkyport); ok && sky.cpuUS > 0 {
				d := res.diff()
				have += fmt.Sprintf(" (%.1f%% of Skyport's %.1f µs in the floor section, 1 core, http)", d/(sky.cpuUS*10), sky.cpuUS)
			}
			vs = append(vs, verdict{res.goal + " (in process, CPU ns/op)", have, res.bound.ok(p.median())})
		}
	}
	return vs
}

// inprocContext are the in-process lines shown beside another line's
// verdict.
func (r *report) inprocContext() []contextRow {
	var cs []contextRow
	for _, res := range r.inproc {
		if !res.judged && len(res.ratios()) > 0 {
			cs = append(cs, contextRow{res.goal + " (in process, CPU ns/op)", res.have(), res.why})
		}
	}
	return cs
}

// have is the median ratio with its pairs' spread, and the medians of
// the two benchmarks' CPU ns/op.
func (r inprocResult) have() string {
	s, ref := pairRatios(r.subjectNs).median(), pairRatios(r.refNs).median()
	return fmt.Sprintf("%s; %s %.0f against %s %.0f CPU ns/op (medians), %+.0f ns a request (the pairs' median difference)",
		r.ratios().describe(""), r.side(r.subject), s, r.side(r.ref), ref, r.diff())
}

// diff is the median of the per-pair differences, subject − ref, in ns.
func (r inprocResult) diff() float64 {
	var d pairRatios
	for i := range min(len(r.subjectNs), len(r.refNs)) {
		d = append(d, r.subjectNs[i]-r.refNs[i])
	}
	return d.median()
}

// side names one side of the comparison: a benchmark, or a paired
// benchmark's unit.
func (r inprocResult) side(name string) string {
	if r.paired != "" {
		return "`" + r.paired + "` " + name
	}
	return "`" + name + "`"
}

// inprocMarkdown is the in-process pairs, pass by pass.
func (r *report) inprocMarkdown() string {
	if len(r.inproc) == 0 {
		return ""
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("### Interleaved in-process pairs\n\n")
	w("Each pass is one process of the package's test binary, built once (`go test -c`), `-test.benchtime %s`: a paired benchmark runs both sides in that process, interleaved in blocks of a few milliseconds; ", inprocBenchtime)
	w("otherwise the pass runs the two benchmarks one after the other in two processes, which of the two first alternating from pass to pass. %d passes, then %d more at a time up to %d while the pairs fall on both sides of the limit. ", pairsMin, pairsStep, pairsMax)
	w("The ratio is the reference's CPU ns/op over the subject's (the throughput a CPU-bound proxy keeps); the verdict is the median of the per-pass ratios.\n\n")
	w("| goal | subject | reference | pass | subject CPU ns/op | reference CPU ns/op | ratio |\n|---|---|---|---:|---:|---:|---:|\n")
	for _, res := range r.inproc {
		p := res.ratios()
		for i := range p {
			w("| %s | %s | %s | %d | %.0f | %.0f | %.3f |\n", res.goal, res.side(res.subject), res.side(res.ref), i+1, res.subjectNs[i], res.refNs[i], p[i])
		}
	}
	w("\n")
	return b.String()
}
