package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFloorOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc    string
		pass    int
		proxies []string
		want    []string
	}{
		{"nginx next to Skyport, Skyport next to its plugin row", 0, floorProxies,
			[]string{floorH1, floorH1Loop, floorNginx, floorSkyport, floorSkyOther, floorPlugins, floorRoutes}},
		{"reversed every other pass", 1, floorProxies,
			[]string{floorRoutes, floorPlugins, floorSkyOther, floorSkyport, floorNginx, floorH1Loop, floorH1}},
		{"a pass of two rows", 3, []string{floorNginx, floorSkyport}, []string{floorSkyport, floorNginx}},
		{"without nginx", 4, []string{floorSkyport, floorPlugins}, []string{floorSkyport, floorPlugins}},
		{"nothing", 5, nil, []string{}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got := floorOrder(tc.pass, tc.proxies)
			if len(tc.want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// passes is a row whose passes have the requests/s given, numbered from
// first; CPU per request is 1e6/rps µs, p99 1 ms.
func passes(layout, scheme, proxy string, first int, rps ...float64) floorRow {
	row := floorRow{layout: layout, scheme: scheme, proxy: proxy}
	for i, v := range rps {
		row.passes = append(row.passes, floorPass{pass: first + i, rps: v, cpuUS: 1e6 / v, p99: time.Millisecond})
	}
	row.rps = passMedian(row.passes, metricRPS)
	row.cpuUS = passMedian(row.passes, metricCPU)
	row.p99 = time.Millisecond
	return row
}

func TestFloorPairs(t *testing.T) {
	t.Parallel()
	sky := passes("1 core", "http", floorSkyport, 0, 900, 450, 800, 1000)
	ngx := passes("1 core", "http", floorNginx, 0, 1000, 500, 1000)
	// Pass 3 has no nginx pass: it is not a pair.
	assert.Equal(t, pairRatios{0.9, 0.9, 0.8}, floorPairs(sky, ngx, metricRPS))
	assert.InDelta(t, 1/0.9, floorPairs(sky, ngx, metricCPU)[0], 1e-9)
	assert.Empty(t, floorPairs(sky, floorRow{}, metricRPS))
}

// The verdict is the median of the per-pair ratios, not the ratio of the
// medians: the machine halved both rows of pass 1, and nginx's median
// pass is not the one Skyport ran beside.
func TestFloorVerdictsArePaired(t *testing.T) {
	t.Parallel()
	r := &report{floor: []floorRow{
		passes("1 core", "http", floorNginx, 0, 1000, 500, 1040),
		passes("1 core", "http", floorSkyport, 0, 820, 410, 790),
	}}
	// Medians: 790 ÷ 1000 = 0.79 would not be met; the pairs say 0.82,
	// 0.82, 0.76.
	require.InDelta(t, 0.79, r.floor[1].rps/r.floor[0].rps, 1e-9)
	vs, _ := r.floorVerdicts()
	got := map[string]verdict{}
	for _, v := range vs {
		got[v.target] = v
	}
	v := got["throughput ≥ 0.8× nginx (1 core, http)"]
	assert.True(t, v.ok, v.have)
	assert.True(t, strings.HasPrefix(v.have, "0.82× (median of 3 pairs, 0.76–0.82); medians 790 against 1000 requests/s"), v.have)

	r.floor[1] = passes("1 core", "http", floorSkyport, 0, 820, 390, 790)
	vs, _ = r.floorVerdicts()
	for _, v := range vs {
		if v.target == "throughput ≥ 0.8× nginx (1 core, http)" {
			assert.False(t, v.ok, "pairs 0.82, 0.78, 0.76: median 0.78 (%s)", v.have)
		}
	}
}

// floorUnsettled asks for another pass of both rows of each judged
// comparison whose pairs disagree, and of no other row.
func TestFloorUnsettled(t *testing.T) {
	t.Parallel()
	const l, s = "1 core", "https"
	ngx := passes(l, s, floorNginx, 0, 1000, 1000, 1000)
	h1 := passes(l, s, floorH1, 0, 990, 990, 990)
	for _, tc := range []struct {
		desc        string
		sky, pl, rt floorRow
		want        []string
	}{
		{"all settled", passes(l, s, floorSkyport, 0, 900, 900, 900), passes(l, s, floorPlugins, 0, 800, 800, 800),
			passes(l, s, floorRoutes, 0, 700, 900, 950), nil},
		{"throughput straddles 0.8", passes(l, s, floorSkyport, 0, 790, 810, 900), passes(l, s, floorPlugins, 0, 600, 600, 600),
			passes(l, s, floorRoutes, 0, 790, 810, 900), []string{floorNginx, floorSkyport}},
		{"only the plugins straddle 0.85", passes(l, s, floorSkyport, 0, 900, 900, 900), passes(l, s, floorPlugins, 0, 700, 800, 800),
			passes(l, s, floorRoutes, 0, 900, 900, 900), []string{floorSkyport, floorPlugins}},
		{"the wrk routes line is context: never asks", passes(l, s, floorSkyport, 0, 900, 900, 900), passes(l, s, floorPlugins, 0, 800, 800, 800),
			passes(l, s, floorRoutes, 0, 800, 900, 890), nil},
		{"seven pairs are enough", passes(l, s, floorSkyport, 0, 790, 810, 790, 810, 790, 810, 790),
			passes(l, s, floorPlugins, 0, 700, 700, 700, 700, 700, 700, 700), passes(l, s, floorRoutes, 0, 700, 700, 700), nil},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			n := passes(l, s, floorNginx, 0, 1000, 1000, 1000, 1000, 1000, 1000, 1000)
			if len(tc.sky.passes) == 3 {
				n = ngx
			}
			rows := []floorRow{n, h1, tc.sky, tc.pl, tc.rt}
			assert.Equal(t, tc.want, floorUnsettled(rows, l, s))
			assert.Empty(t, floorUnsettled(rows, "unpinned", s), "another layout's rows")
		})
	}
}

// floorRounds measures every row pairsMin times, then only the rows of
// unsettled comparisons, pairsStep at a time, up to pairsMax.
func TestFloorRounds(t *testing.T) {
	t.Parallel()
	// rps of each proxy by pass; Skyport's throughput against nginx in
	// "1 core, https" straddles 0.8 until pass 5 of 7.
	rate := func(pass int, layout, scheme, proxy string) float64 {
		switch proxy {
		case floorNginx:
			return 1000
		case floorPlugins:
			return 800
		case floorSkyport:
			if layout == floorPinned && scheme == "https" {
				return []float64{790, 810, 790, 810, 790, 810, 790}[pass]
			}
		}
		return 900
	}
	var seq []string
	samples, err := floorRounds(func(pass int, layout, scheme, proxy string) (floorSample, error) {
		seq = append(seq, fmt.Sprintf("%d %s %s %s", pass, layout, scheme, proxy))
		v := rate(pass, layout, scheme, proxy)
		return floorSample{pass: pass, res: wrkResult{RPS: v, Requests: int64(v), P99: time.Millisecond}, cpuUS: 1e6 / v}, nil
	})
	require.NoError(t, err)
	count := func(layout, scheme, proxy string) int { return len(samples[floorKey{layout, scheme, proxy}]) }
	// The rows of a pass: every proxy of every layout and scheme that
	// measures it (floorMeasured).
	rowsPerPass := 0
	for _, layout := range floorLayouts {
		for _, scheme := range floorSchemes {
			for _, proxy := range floorProxies {
				want := pairsMin
				if layout == floorPinned && scheme == "https" && (proxy == floorNginx || proxy == floorSkyport) {
					want = pairsMax
				}
				if !floorMeasured(proxy, scheme) {
					want = 0
				} else {
					rowsPerPass++
				}
				assert.Equal(t, want, count(layout, scheme, proxy), "%s %s %s", layout, scheme, proxy)
			}
		}
	}
	assert.Len(t, seq, pairsMin*rowsPerPass+(pairsMax-pairsMin)*2)
	// Pass 4 (index 3, odd) and 5: the two rows, in reverse order, then
	// in order. (The plugin row's pairs, 800 against 790 and 810, agree.)
	assert.Equal(t, []string{"3 1 core https skyport", "3 1 core https nginx", "4 1 core https nginx", "4 1 core https skyport"},
		seq[pairsMin*rowsPerPass:pairsMin*rowsPerPass+4])

	rows := floorRowsFrom(samples)
	r := &report{floor: rows}
	vs, cs := r.floorVerdicts()
	for _, v := range vs {
		if v.target == "throughput ≥ 0.8× nginx (1 core, https)" {
			assert.False(t, v.ok, "pairs 790 ×4, 810 ×3: median 0.79 (%s)", v.have)
			assert.Contains(t, v.have, "median of 7 pairs, 0.79–0.81")
		}
	}
	require.Len(t, cs, 4, "the wrk routes line, per layout and scheme")
	assert.Equal(t, "10k routes within 5% of 1 route (1 core, http), wrk", cs[0].target)
}

func TestFloorRoundsFails(t *testing.T) {
	t.Parallel()
	_, err := floorRounds(func(int, string, string, string) (floorSample, error) {
		return floorSample{}, fmt.Errorf("wrk: no answer")
	})
	assert.ErrorContains(t, err, "no answer")
}
