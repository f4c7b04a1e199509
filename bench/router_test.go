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
