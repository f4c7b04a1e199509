package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBenchPattern(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, match string
		not         []string
	}{
		{"BenchmarkProxyH1Routes/routes=1", "BenchmarkProxyH1Routes/routes=1", []string{"BenchmarkProxyH1Routes/routes=10000"}},
		{"BenchmarkProxyH1Plugins/plugins=key-auth+rate-limiting/path=native", "BenchmarkProxyH1Plugins/plugins=key-auth+rate-limiting/path=native",
			[]string{"BenchmarkProxyH1Plugins/plugins=key-authrate-limiting/path=native", "BenchmarkProxyH1Plugins/plugins=key-auth+rate-limiting/path=adapter"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// go test matches each "/" level of the name against the
			// same level of the pattern.
			levels := strings.Split(benchPattern(tc.name), "/")
			match := func(name string) bool {
				parts := strings.Split(name, "/")
				if len(parts) != len(levels) {
					return false
				}
				for i, p := range parts {
					if !regexp.MustCompile(levels[i]).MatchString(p) {
						return false
					}
				}
				return true
			}
			assert.True(t, match(tc.match))
			for _, n := range tc.not {
				assert.False(t, match(n), n)
			}
		})
	}
}

func TestInprocVerdicts(t *testing.T) {
	t.Parallel()
	routes, plugins := inprocCompares[0], inprocCompares[1]
	require.Equal(t, goalRoutesText, routes.goal)
	require.Equal(t, goalPluginsText, plugins.goal)
	for _, tc := range []struct {
		desc         string
		subject, ref []float64
		ok           bool
		have         string
	}{
		{"inside", []float64{41000, 40500, 40800}, []float64{40000, 40000, 40000}, true, "0.98 (median of 3 pairs, 0.98–0.99)"},
		{"at the limit", []float64{20000, 20000, 20000}, []float64{19000, 19000, 19000}, true, "0.95 (median of 3 pairs, 0.95–0.95)"},
		{"past it", []float64{40000, 40000, 40000}, []float64{37960, 37960, 37960}, false, "0.95 (median of 3 pairs, 0.95–0.95)"},
		// The ratio of the medians (39200 / 42000 = 0.93) would fail.
		{"paired, not medians", []float64{40000, 90000, 42000}, []float64{39200, 30000, 40000}, true, "0.95 (median of 3 pairs, 0.33–0.98)"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r := &report{inproc: []inprocResult{
				{inprocCompare: routes, subjectNs: tc.subject, refNs: tc.ref},
				{inprocCompare: plugins, subjectNs: []float64{50000, 50000, 50000}, refNs: []float64{40000, 40000, 40000}},
			}}
			vs := r.inprocVerdicts()
			require.Len(t, vs, 1, "the plugins line is context")
			assert.Equal(t, "10k routes within 5% of 1 route (in process, CPU ns/op)", vs[0].target)
			assert.Equal(t, tc.ok, vs[0].ok, vs[0].have)
			assert.True(t, strings.HasPrefix(vs[0].have, tc.have), vs[0].have)
			cs := r.inprocContext()
			require.Len(t, cs, 1)
			assert.Equal(t, "key-auth + rate-limiting ≥ 0.85 of no plugins (in process, CPU ns/op)", cs[0].target)
			assert.True(t, strings.HasPrefix(cs[0].have, "0.80 (median of 3 pairs"), cs[0].have)
			assert.Contains(t, r.targets(), "| context, not judged: its CPU per request includes")
			r.floor = []floorRow{{layout: floorPinned, scheme: "http", proxy: floorSkyport, cpuUS: 20}}
			var diffs pairRatios
			for i := range tc.subject {
				diffs = append(diffs, tc.subject[i]-tc.ref[i])
			}
			d := diffs.median()
			assert.Contains(t, r.inprocVerdicts()[0].have, fmt.Sprintf("(%.1f%% of Skyport's 20.0 µs in the floor section, 1 core, http)", d/200))
		})
	}
}

func TestBenchMetric(t *testing.T) {
	t.Parallel()
	const out = "BenchmarkProxyH1RoutesPaired-2   \t    3000\t    138074 ns/op\t     77312 routes1-cpu-ns/op\t     75130.5 routes10000-cpu-ns/op\t     193 B/op\t       2 allocs/op\n"
	for _, tc := range []struct {
		unit string
		v    float64
		ok   bool
	}{
		{"routes1-cpu-ns/op", 77312, true},
		{"routes10000-cpu-ns/op", 75130.5, true},
		{"routes100-cpu-ns/op", 0, false},
		{"cpu-ns/op", 0, false},
	} {
		v, ok := benchMetric(out, tc.unit)
		assert.Equal(t, tc.ok, ok, tc.unit)
		assert.InDelta(t, tc.v, v, 1e-9, tc.unit)
	}
}
