package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReBench(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		"BenchmarkProxy/http-log-2         \t   20000\t    257117 ns/op\t     98306 cpu-ns/op\t   14340 B/op\t      94 allocs/op",
		"BenchmarkProxy/http-log-2 20000 257117 ns/op 14340 B/op 94 allocs/op",
	} {
		m := reBench.FindStringSubmatch(line)
		require.Equal(t, []string{"BenchmarkProxy/http-log", "257117", "14340", "94"}, m[1:], line)
	}
}

func TestParseGoBenchCPU(t *testing.T) {
	t.Parallel()
	out := "goos: linux\n" +
		"BenchmarkStages/router/routes=1-2         \t 1000000\t       512.0 ns/op\t       150.3 cpu-ns/op\t       0 B/op\t       0 allocs/op\n" +
		"BenchmarkProxy/routes=1-2 20000 41000 ns/op 11702 B/op 78 allocs/op\n" +
		"BenchmarkProxyH1Rest-2      \t    8169\t    250523 ns/op\t    115745 cpu-ns/op\t     53330 floor-cpu-ns/op\t     57794 native-cpu-ns/op\t      4071 rest-cpu-ns/op\t     340 B/op\t       6 allocs/op\n" +
		"PASS\n"
	require.Equal(t, []goBench{
		{name: "dataplane/proxy BenchmarkStages/router/routes=1", nsPerOp: 512, cpuNsPerOp: 150.3},
		{name: "dataplane/proxy BenchmarkProxy/routes=1", nsPerOp: 41000, bytes: 11702, allocs: 78},
		{name: "dataplane/proxy BenchmarkProxyH1Rest", nsPerOp: 250523, cpuNsPerOp: 115745, bytes: 340, allocs: 6,
			metrics: map[string]float64{"floor-cpu-ns/op": 53330, "native-cpu-ns/op": 57794, "rest-cpu-ns/op": 4071}},
	}, parseGoBench("./dataplane/proxy", out))
}

// A benchmark's own metric may be negative (BenchmarkProxyH1Rest's
// rest-cpu-ns/op when the native path cost less than the floor in most
// rounds): the row and the metric are read, not dropped.
func TestParseGoBenchNegativeMetric(t *testing.T) {
	t.Parallel()
	out := "BenchmarkProxyH1Rest-2      \t    8169\t    250523 ns/op\t    115745 cpu-ns/op\t     53330 floor-cpu-ns/op\t     53210 native-cpu-ns/op\t      -120.5 rest-cpu-ns/op\t     340 B/op\t       6 allocs/op\n"
	require.Equal(t, []goBench{
		{name: "dataplane/proxy BenchmarkProxyH1Rest", nsPerOp: 250523, cpuNsPerOp: 115745, bytes: 340, allocs: 6,
			metrics: map[string]float64{"floor-cpu-ns/op": 53330, "native-cpu-ns/op": 53210, "rest-cpu-ns/op": -120.5}},
	}, parseGoBench("./dataplane/proxy", out))
}
