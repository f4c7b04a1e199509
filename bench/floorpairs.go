package main

import (
	"fmt"
	"os"
	"slices"
	"time"
)

// The floor section's layouts and schemes. In the 1-core layout the
// proxy under test has CPU 1 to itself (nginx with one worker; a Go
// proxy's GOMAXPROCS follows its affinity to 1) while wrk and the
// upstream share CPU 0: on two cores, the only layout in which neither
// the load generator nor the upstream takes CPU from the proxy, and the
// same for every proxy. Unpinned, every process runs where the kernel
// puts it (nginx with a worker per core, Go with two Ps).
const floorPinned = "1 core"

var (
	floorLayouts = []string{floorPinned, "unpinned"}
	floorSchemes = []string{"http", "https"}
)

// floorPass is one pass of one row.
type floorPass struct {
	pass  int
	rps   float64
	cpuUS float64
	p99   time.Duration
}

// floorMetric is what a comparison divides: requests/s, CPU per request
// or p99.
type floorMetric int

const (
	metricRPS floorMetric = iota
	metricCPU
	metricP99
)

// of is the metric's value in one pass.
func (m floorMetric) of(p floorPass) float64 {
	switch m {
	case metricCPU:
		return p.cpuUS
	case metricP99:
		return float64(p.p99)
	}
	return p.rps
}

// floorKey names one row: a proxy in a layout and scheme.
type floorKey struct{ layout, scheme, proxy string }

// floorCompare is one of issue 19's goals as the floor section measures
// it: subject's value over ref's, pass by pass.
type floorCompare struct {
	goal         string
	subject, ref string
	metric       floorMetric
	bound        bound
	// judged is false for a comparison shown as context: wrk cannot
	// resolve it here, and the verdict is the in-process line's
	// (inprocCompares).
	judged bool
}

var floorCompares = []floorCompare{
	{"throughput ≥ 0.8× nginx", floorSkyport, floorNginx, metricRPS, bound{goalRPS, true}, true},
	{"CPU per request ≤ 1.25× nginx", floorSkyport, floorNginx, metricCPU, bound{goalCPU, false}, true},
	{"p99 ≤ 1.5× nginx", floorSkyport, floorNginx, metricP99, bound{goalP99, false}, true},
	{goalPluginsText, floorPlugins, floorSkyport, metricRPS, bound{goalPlugins, true}, true},
	{goalRoutesText, floorRoutes, floorSkyport, metricRPS, bound{goalRoutes, true}, false},
}

const (
	goalPluginsText = "key-auth + rate-limiting ≥ 0.85 of no plugins"
	goalRoutesText  = "10k routes within 5% of 1 route"
)

// floorPairs are the ratios of subject's passes to ref's, pass by pass,
// over the passes both have.
func floorPairs(subject, ref floorRow, m floorMetric) pairRatios {
	var out pairRatios
	for _, s := range subject.passes {
		for _, r := range ref.passes {
			if r.pass == s.pass && m.of(r) > 0 {
				out = append(out, m.of(s)/m.of(r))
			}
		}
	}
	return out
}

// floorOrder is the order of one pass over proxies: nginx just before
// Skyport's row, which is just before its key-auth + rate-limiting row,
// so that each judged pair runs back to back; every other pass in
// reverse, so that neither of a pair always runs first.
func floorOrder(pass int, proxies []string) []string {
	out := slices.DeleteFunc(slices.Clone(proxies), func(p string) bool { return p == floorNginx })
	if len(out) < len(proxies) {
		i := max(slices.Index(out, floorSkyport), 0)
		out = slices.Insert(out, i, floorNginx)
	}
	if pass%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// floorUnsettled are the proxies of a layout and scheme that another
// pass should measure: both rows of every judged comparison whose pairs
// are not settled, in floorProxies' order.
func floorUnsettled(rows []floorRow, layout, scheme string) []string {
	find := func(proxy string) (floorRow, bool) {
		for _, f := range rows {
			if f.layout == layout && f.scheme == scheme && f.proxy == proxy {
				return f, true
			}
		}
		return floorRow{}, false
	}
	need := map[string]bool{}
	for _, c := range floorCompares {
		s, ok1 := find(c.subject)
		ref, ok2 := find(c.ref)
		if c.judged && ok1 && ok2 && !floorPairs(s, ref, c.metric).settled(c.bound) {
			need[c.subject], need[c.ref] = true, true
		}
	}
	var out []string
	for _, p := range floorProxies {
		if need[p] {
			out = append(out, p)
		}
	}
	return out
}

// floorRounds measures every row of every layout and scheme pairsMin
// times, then, pairsStep passes at a time and up to pairsMax, the rows
// whose judged comparisons are not settled (floorUnsettled).
func floorRounds(measure func(pass int, layout, scheme, proxy string) (floorSample, error)) (map[floorKey][]floorSample, error) {
	samples := map[floorKey][]floorSample{}
	extra := map[[2]string][]string{}
	for pass := range pairsMax {
		started := time.Now()
		n := 0
		for _, layout := range floorLayouts {
			for _, scheme := range floorSchemes {
				g := [2]string{layout, scheme}
				proxies := floorProxies
				switch {
				case pass >= pairsMin && (pass-pairsMin)%pairsStep == 0:
					extra[g] = floorUnsettled(floorRowsFrom(samples), layout, scheme)
					proxies = extra[g]
				case pass >= pairsMin:
					proxies = extra[g]
				}
				for _, proxy := range floorOrder(pass, proxies) {
					if !floorMeasured(proxy, scheme) {
						continue
					}
					s, err := measure(pass, layout, scheme, proxy)
					if err != nil {
						return nil, err
					}
					k := floorKey{layout, scheme, proxy}
					samples[k] = append(samples[k], s)
					n++
				}
			}
		}
		if n == 0 {
			break
		}
		fmt.Fprintf(os.Stderr, "  pass %d: %d rows in %s\n", pass+1, n, time.Since(started).Round(time.Second))
	}
	return samples, nil
}

// floorRowsFrom turns the passes into rows, in the order of layouts,
// schemes and floorProxies: the medians of each row's passes, its passes
// one by one, and the range of its CPU per request.
func floorRowsFrom(samples map[floorKey][]floorSample) []floorRow {
	var rows []floorRow
	for _, layout := range floorLayouts {
		for _, scheme := range floorSchemes {
			for _, proxy := range floorProxies {
				ss := samples[floorKey{layout, scheme, proxy}]
				if len(ss) == 0 {
					continue
				}
				row := floorRow{layout: layout, scheme: scheme, proxy: proxy,
					cpuMin: ss[0].cpuUS, cpuMax: ss[0].cpuUS}
				for _, s := range ss {
					row.passes = append(row.passes, floorPass{pass: s.pass, rps: s.res.RPS, cpuUS: s.cpuUS, p99: s.res.P99})
					row.errors += s.res.Errors
					row.sysPerReq = max(row.sysPerReq, s.sysPerReq)
					row.cpuMin, row.cpuMax = min(row.cpuMin, s.cpuUS), max(row.cpuMax, s.cpuUS)
				}
				row.rps = passMedian(row.passes, metricRPS)
				row.cpuUS = passMedian(row.passes, metricCPU)
				row.p99 = time.Duration(passMedian(row.passes, metricP99))
				rows = append(rows, row)
			}
		}
	}
	return rows
}

func passMedian(ps []floorPass, m floorMetric) float64 {
	v := make(pairRatios, len(ps))
	for i, p := range ps {
		v[i] = m.of(p)
	}
	return v.median()
}

// contextRow is a figure "Against the targets" shows beside a verdict
// without judging it, and why.
type contextRow struct {
	target, have, why string
}

// floorVerdicts judges issue 19's rows per layout and scheme on the
// median of the per-pair ratios (floorCompares), and returns the
// comparisons wrk cannot resolve as context.
func (r *report) floorVerdicts() ([]verdict, []contextRow) {
	var vs []verdict
	var cs []contextRow
	for _, sky := range r.floor {
		if sky.proxy != floorSkyport {
			continue
		}
		at := " (" + sky.layout + ", " + sky.scheme + ")"
		for _, c := range floorCompares {
			s, ok1 := r.floorFind(sky.layout, sky.scheme, c.subject)
			ref, ok2 := r.floorFind(sky.layout, sky.scheme, c.ref)
			if !ok1 || !ok2 {
				continue
			}
			p := floorPairs(s, ref, c.metric)
			if len(p) == 0 {
				continue
			}
			have := r.floorHave(c, s, ref, p)
			if !c.judged {
				cs = append(cs, contextRow{c.goal + at + ", wrk", have,
					"wrk's passes here move by more than the 5% judged; the verdict is the in-process line"})
				continue
			}
			vs = append(vs, verdict{c.goal + at, have, c.bound.ok(p.median())})
		}
	}
	return vs, cs
}

// floorHave states a paired verdict's figures: the median of the pairs
// and their spread, then the rows' medians.
func (r *report) floorHave(c floorCompare, s, ref floorRow, p pairRatios) string {
	unit := ""
	if c.ref == floorNginx {
		unit = "×"
	}
	have := p.describe(unit)
	switch {
	case c.ref != floorNginx:
		have += fmt.Sprintf("; CPU per request: %.2f", floorPairs(ref, s, metricCPU).median())
	case c.metric == metricCPU:
		have += fmt.Sprintf("; medians %.1f against %.1f µs", s.cpuUS, ref.cpuUS)
		if h1, ok := r.floorFind(s.layout, s.scheme, skyportFloor(s.scheme)); ok {
			have += fmt.Sprintf("; the h1 floor %.2f×", floorPairs(h1, ref, metricCPU).median())
		}
	case c.metric == metricP99:
		have += fmt.Sprintf("; medians %s against %s", ms(s.p99), ms(ref.p99))
	default:
		have += fmt.Sprintf("; medians %.0f against %.0f requests/s", s.rps, ref.rps)
	}
	return have
}

// pairedPreamble says, above the targets, how the paired rows are judged
// and which line judges a goal measured two ways.
func (r *report) pairedPreamble() string {
	if len(r.floor) == 0 && len(r.inproc) == 0 {
		return ""
	}
	return "The floor section's rows and the in-process lines are judged on the median of per-pair ratios (each pass of the row judged against its reference's pass run next to it), " +
		"stated with the number of pairs and their spread; a comparison whose pairs fall on both sides of its limit got more pairs, up to " + fmt.Sprint(pairsMax) + ". " +
		"\"10k routes within 5% of 1 route\" is judged in process (`BenchmarkProxyH1RoutesPaired`, CPU ns/op): a 5% difference is below what wrk's passes resolve on this machine, " +
		"and the in-process pair measures the whole request, routing included, both sizes in one process in alternating blocks of a few milliseconds; wrk's line is shown as context. " +
		"Its CPU time includes the benchmark's client and upstream loops, which make the ratio lenient by their share, so the row also states the difference in ns a request " +
		"and, with the floor section, that difference as a share of Skyport's own CPU per request there (1 core, http). " +
		"\"key-auth + rate-limiting ≥ 0.85 of no plugins\" is judged on wrk's line per layout and scheme, which counts the proxy's own CPU and resolves 15%; " +
		"the in-process line is context, since its CPU per request includes the benchmark's client and upstream loops, which make the ratio lenient.\n\n"
}
