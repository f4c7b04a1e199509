package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// floorOf is one layout and scheme of the floor section: nginx, the h1
// floor of Skyport's connection model (skyportFloor) and Skyport's three rows, each given as requests/s, CPU µs per
// request and p99 in ms.
func floorOf(layout, scheme string, ngx, h1, sky, plugins, routes [3]float64) []floorRow {
	row := func(proxy string, v [3]float64) floorRow {
		p99 := time.Duration(v[2] * float64(time.Millisecond))
		return floorRow{layout: layout, scheme: scheme, proxy: proxy, rps: v[0], cpuUS: v[1],
			cpuMin: v[1], cpuMax: v[1], p99: p99, sysPerReq: 6,
			passes: []floorPass{{pass: 0, rps: v[0], cpuUS: v[1], p99: p99}}}
	}
	return []floorRow{row(floorNginx, ngx), row(skyportFloor(scheme), h1), row(floorSkyport, sky),
		row(floorPlugins, plugins), row(floorRoutes, routes)}
}

func verdictMap(vs []verdict) map[string]bool {
	m := map[string]bool{}
	for _, v := range vs {
		m[v.target] = v.ok
	}
	return m
}

func TestFloorVerdicts(t *testing.T) {
	t.Parallel()
	ngx := [3]float64{30000, 40, 10}
	for _, tc := range []struct {
		name                  string
		sky, plugins, routes  [3]float64
		rps, cpu, p99, pl, rt bool
	}{
		{"all met", [3]float64{27000, 45, 12}, [3]float64{24000, 50, 12}, [3]float64{26700, 45, 12}, true, true, true, true, true},
		{"at the limits", [3]float64{24000, 50, 15}, [3]float64{20400, 60, 15}, [3]float64{22800, 50, 15}, true, true, true, true, true},
		{"just past them", [3]float64{23970, 50.1, 15.1}, [3]float64{20370, 60, 15}, [3]float64{22770, 50, 15}, false, false, false, false, false},
		{"slow but cheap", [3]float64{15000, 45, 30}, [3]float64{13500, 50, 30}, [3]float64{12000, 50, 30}, false, true, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &report{floor: floorOf("1 core", "https", ngx, [3]float64{28500, 42, 10}, tc.sky, tc.plugins, tc.routes)}
			got := verdictMap(r.verdicts())
			want := map[string]bool{
				"throughput ≥ 0.8× nginx (1 core, https)":                       tc.rps,
				"CPU per request ≤ 1.25× nginx (1 core, https)":                 tc.cpu,
				"p99 ≤ 1.5× nginx (1 core, https)":                              tc.p99,
				"key-auth + rate-limiting ≥ 0.85 of no plugins (1 core, https)": tc.pl,
			}
			assert.Equal(t, want, got)
			// wrk's 10k-routes line is context: the in-process line judges.
			cs := r.contextRows()
			require.Len(t, cs, 1)
			assert.Equal(t, "10k routes within 5% of 1 route (1 core, https), wrk", cs[0].target)
			assert.Equal(t, tc.rt, bound{goalRoutes, true}.ok(tc.routes[0]/tc.sky[0]))
		})
	}
}

// Every layout and scheme the section measured is judged on its own.
func TestFloorVerdictsPerLayoutAndScheme(t *testing.T) {
	t.Parallel()
	var r report
	good, bad := [3]float64{9000, 45, 12}, [3]float64{5000, 80, 40}
	ngx, h1 := [3]float64{10000, 40, 10}, [3]float64{9500, 42, 10}
	r.floor = append(r.floor, floorOf("1 core", "http", ngx, h1, bad, bad, bad)...)
	r.floor = append(r.floor, floorOf("1 core", "https", ngx, h1, good, good, good)...)
	r.floor = append(r.floor, floorOf("unpinned", "http", ngx, h1, good, good, good)...)
	r.floor = append(r.floor, floorOf("unpinned", "https", ngx, h1, bad, good, good)...)
	got := verdictMap(r.verdicts())
	require.Len(t, got, 16)
	require.Len(t, r.contextRows(), 4)
	assert.False(t, got["CPU per request ≤ 1.25× nginx (1 core, http)"])
	assert.True(t, got["CPU per request ≤ 1.25× nginx (1 core, https)"])
	assert.True(t, got["CPU per request ≤ 1.25× nginx (unpinned, http)"])
	assert.False(t, got["CPU per request ≤ 1.25× nginx (unpinned, https)"])
	assert.True(t, got["key-auth + rate-limiting ≥ 0.85 of no plugins (1 core, http)"], "bad against bad is the same")
	assert.True(t, strings.HasPrefix(r.contextRows()[3].have, "1.80 "), "good against bad: %s", r.contextRows()[3].have)
}

func TestIdleVerdicts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		heapKB float64
		ok     bool
	}{{9.5, true}, {64, true}, {64.1, false}, {300, false}} {
		r := &report{idle: []idleRow{{scheme: "https", conns: 1000, heapKB: tc.heapKB, rssKB: 80}}}
		vs := r.verdicts()
		require.Len(t, vs, 1)
		assert.Equal(t, "≤ 64 KB per idle keep-alive client connection (https)", vs[0].target)
		assert.Equal(t, tc.ok, vs[0].ok, tc.heapKB)
	}
}

func TestStageVerdicts(t *testing.T) {
	t.Parallel()
	bench := func(name string, wall, cpu float64) goBench {
		return goBench{name: "dataplane/proxy " + name, nsPerOp: wall, cpuNsPerOp: cpu}
	}
	rest := func(cpu float64) goBench {
		gb := bench("BenchmarkProxyH1Rest", 200000, 100000)
		gb.metrics = map[string]float64{"rest-cpu-ns/op": cpu,
			"native-cpu-ns/op": 51000, "floor-cpu-ns/op": 49900}
		return gb
	}
	for _, tc := range []struct {
		name  string
		bench []goBench
		want  map[string]bool
		have  map[string]string
	}{
		{
			name: "CPU time judged, not wall time",
			bench: []goBench{
				bench("BenchmarkStages/router/routes=1", 600, 150),
				bench("BenchmarkStages/router/routes=10000", 600, 251),
				bench("BenchmarkStages/plugins=none", 10, 3),
				bench("BenchmarkStages/metrics", 300, 200),
				bench("BenchmarkStages/access-log", 900, 301),
				bench("BenchmarkProxyH1/path=native", 90000, 41000),
				bench("BenchmarkProxyH1Floor", 82000, 37000),
			},
			want: map[string]bool{
				"router ≤ 250 ns, 1 route":              true,
				"router ≤ 250 ns, 10k routes":           false,
				"plugin chain without plugins ≤ 100 ns": true,
				"metrics ≤ 200 ns":                      true,
				"access log ≤ 300 ns":                   false,
				"everything else ≤ 1 µs":                false,
			},
			have: map[string]string{"everything else ≤ 1 µs": "3847 CPU ns/op"},
		},
		{
			name: "wall time where no CPU time is reported; no rest without it",
			bench: []goBench{
				bench("BenchmarkStages/router/routes=1", 240, 0),
				bench("BenchmarkStages/plugins=none", 10, 3),
				bench("BenchmarkProxyH1/path=native", 90000, 38500),
				bench("BenchmarkProxyH1Floor", 82000, 37000),
			},
			want: map[string]bool{"router ≤ 250 ns, 1 route": true, "plugin chain without plugins ≤ 100 ns": true},
			have: map[string]string{"router ≤ 250 ns, 1 route": "240 wall ns/op"},
		},
		{
			name: "the rest within its budget",
			bench: []goBench{
				bench("BenchmarkStages/router/routes=1", 600, 150),
				bench("BenchmarkStages/plugins=none", 10, 4),
				bench("BenchmarkProxyH1/path=native", 90000, 38050),
				bench("BenchmarkProxyH1Floor", 82000, 37000),
			},
			want: map[string]bool{"router ≤ 250 ns, 1 route": true, "plugin chain without plugins ≤ 100 ns": true, "everything else ≤ 1 µs": true},
			have: map[string]string{"everything else ≤ 1 µs": "896 CPU ns/op"},
		},
		{
			name: "the alternating rounds' median preferred to the two benchmarks' difference",
			bench: []goBench{
				bench("BenchmarkStages/router/routes=1", 600, 150),
				bench("BenchmarkStages/plugins=none", 10, 4),
				bench("BenchmarkProxyH1/path=native", 90000, 45000),
				bench("BenchmarkProxyH1Floor", 82000, 37000),
				rest(1100),
			},
			want: map[string]bool{"router ≤ 250 ns, 1 route": true, "plugin chain without plugins ≤ 100 ns": true, "everything else ≤ 1 µs": true},
			have: map[string]string{"everything else ≤ 1 µs": "946 CPU ns/op: `BenchmarkProxyH1Rest`"},
		},
		{
			name: "the alternating rounds' median used when it is not positive",
			bench: []goBench{
				bench("BenchmarkStages/router/routes=1", 600, 150),
				bench("BenchmarkStages/plugins=none", 10, 4),
				bench("BenchmarkProxyH1/path=native", 90000, 45000),
				bench("BenchmarkProxyH1Floor", 82000, 37000),
				rest(-50),
			},
			want: map[string]bool{"router ≤ 250 ns, 1 route": true, "plugin chain without plugins ≤ 100 ns": true, "everything else ≤ 1 µs": true},
			have: map[string]string{"everything else ≤ 1 µs": "-204 CPU ns/op: `BenchmarkProxyH1Rest`"},
		},
		{
			name: "the alternating rounds' median over budget",
			bench: []goBench{
				bench("BenchmarkStages/router/routes=1", 600, 150),
				bench("BenchmarkStages/plugins=none", 10, 4),
				bench("BenchmarkProxyH1/path=native", 90000, 37500),
				bench("BenchmarkProxyH1Floor", 82000, 37000),
				rest(1155),
			},
			want: map[string]bool{"router ≤ 250 ns, 1 route": true, "plugin chain without plugins ≤ 100 ns": true, "everything else ≤ 1 µs": false},
			have: map[string]string{"everything else ≤ 1 µs": "1001 CPU ns/op"},
		},
		{
			name: "no rest without the stages it subtracts",
			bench: []goBench{
				bench("BenchmarkStages/router/routes=1", 600, 150),
				rest(1100),
			},
			want: map[string]bool{"router ≤ 250 ns, 1 route": true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &report{gobench: tc.bench}
			vs := r.verdicts()
			assert.Equal(t, tc.want, verdictMap(vs))
			for _, v := range vs {
				if h, ok := tc.have[v.target]; ok {
					assert.True(t, strings.HasPrefix(v.have, h), "%s: %s", v.target, v.have)
				}
			}
		})
	}
}

// Without the floor section the proxy section's rows are judged, and
// said to be; with it, only the floor's.
func TestProxyVerdictsOnlyWithoutFloor(t *testing.T) {
	t.Parallel()
	proxy := []proxyRow{
		{name: "nginx proxy_pass", result: wrkResult{RPS: 10000, P99: 10 * time.Millisecond}},
		{name: "Skyport, 1 route", result: wrkResult{RPS: 9000, P99: 20 * time.Millisecond}},
		{name: "Skyport, 10k routes", result: wrkResult{RPS: 8200}},
		{name: "Skyport, 1 route, key-auth + rate-limiting", result: wrkResult{RPS: 7700}},
	}
	r := &report{proxy: proxy}
	const where = " (proxy section: wrk -t2, unpinned, http)"
	assert.Equal(t, map[string]bool{
		"throughput ≥ 0.8× nginx" + where:                       true,
		"p99 ≤ 1.5× nginx" + where:                              false,
		"key-auth + rate-limiting ≥ 0.85 of no plugins" + where: true,
		"10k routes within 5% of 1 route" + where:               false,
	}, verdictMap(r.verdicts()))

	r.floor = floorOf("unpinned", "http", [3]float64{10000, 40, 10}, [3]float64{9500, 42, 10},
		[3]float64{9000, 45, 12}, [3]float64{8150, 50, 12}, [3]float64{8900, 45, 12})
	for target := range verdictMap(r.verdicts()) {
		assert.NotContains(t, target, "proxy section")
	}
}

// A row not met points at the profile notes, which the report then
// carries, with this run's floor figures in them.
func TestUnmetRowsPointAtTheProfile(t *testing.T) {
	t.Parallel()
	r := &report{floor: floorOf("1 core", "http", [3]float64{10000, 40, 10}, [3]float64{9500, 48, 10},
		[3]float64{7000, 56, 12}, [3]float64{6500, 60, 12}, [3]float64{6900, 57, 12})}
	targets := r.targets()
	for _, line := range strings.Split(strings.TrimSpace(targets), "\n")[2:] {
		switch {
		case strings.Contains(line, "not met"):
			assert.Contains(t, line, whyLink, line)
		case strings.Contains(line, "| context, not judged: "):
			assert.Contains(t, line, ", wrk |", line)
		default:
			assert.True(t, strings.HasSuffix(line, "| met |"), line)
		}
	}
	assert.Contains(t, targets, "| CPU per request ≤ 1.25× nginx (1 core, http) | 1.40× (median of 1 pair, 1.40–1.40); medians 56.0 against 40.0 µs; the h1 floor 1.20× | **not met**")
	md := r.markdown()
	require.Contains(t, md, "### What the profile shows")
	assert.Contains(t, md, "| 1 core | http | 40.0 (40.0–40.0) | 1.20× (48.0–48.0 µs) | 1.40× (56.0–56.0 µs) | 8.0 | 6.0 · 6.0 · 6.0 |")

	met := &report{floor: floorOf("1 core", "http", [3]float64{10000, 40, 10}, [3]float64{9500, 42, 10},
		[3]float64{9000, 45, 12}, [3]float64{8150, 50, 12}, [3]float64{8900, 45, 12})}
	assert.NotContains(t, met.markdown(), "What the profile shows")
}

func TestHeapFromMetrics(t *testing.T) {
	t.Parallel()
	const body = "# HELP go_memstats_heap_alloc_bytes x\n# TYPE go_memstats_heap_alloc_bytes gauge\n" +
		"go_memstats_heap_alloc_bytes 4.194304e+06\ngo_memstats_heap_alloc_bytes_total 9e+09\n" +
		"go_memstats_stack_inuse_bytes 1.048576e+06\n"
	n, err := heapFromMetrics(body)
	require.NoError(t, err)
	assert.Equal(t, int64(5<<20), n)
	_, err = heapFromMetrics("go_memstats_heap_alloc_bytes 1\n")
	assert.Error(t, err)
}
