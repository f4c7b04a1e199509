package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// goBench is one `go test -bench` result line.
type goBench struct {
	name    string
	nsPerOp float64
	bytes   int64
	allocs  int64
}

// goBenchmarks are the Go benchmarks the report carries: the router, the
// proxy's stages one by one (issue 19's budgets), the proxy path, and the
// proxy path with and without key-auth + rate-limiting.
var goBenchmarks = []struct{ pattern, pkg string }{
	{"BenchmarkMatch", "./dataplane/router"},
	{"BenchmarkStages|BenchmarkProxy", "./dataplane/proxy"},
	{"BenchmarkObserveRequest", "./dataplane/status"},
	{"BenchmarkProxy|BenchmarkAccess", "./dataplane/plugins"},
}

func goBenchCommand(pattern, pkg string) []string {
	return []string{"test", "-run", "^$", "-bench", pattern, "-benchmem", "-benchtime", "1s", pkg}
}

// reBench reads a benchmark's line; metrics a benchmark reports itself
// (cpu-ns/op) sit between ns/op and B/op.
var reBench = regexp.MustCompile(`(?m)^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+(?:[\d.]+ \S+/op\s+)*?(\d+) B/op\s+(\d+) allocs/op`)

func benchRouter(ctx context.Context, e *env, o options, r *report) error {
	for _, gb := range goBenchmarks {
		args := goBenchCommand(gb.pattern, gb.pkg)
		out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, out)
		}
		found := 0
		for _, m := range reBench.FindAllStringSubmatch(string(out), -1) {
			ns, _ := strconv.ParseFloat(m[2], 64)
			b, _ := strconv.ParseInt(m[3], 10, 64)
			a, _ := strconv.ParseInt(m[4], 10, 64)
			name := strings.TrimPrefix(gb.pkg, "./") + " " + m[1]
			r.gobench = append(r.gobench, goBench{name: name, nsPerOp: ns, bytes: b, allocs: a})
			found++
		}
		if found == 0 {
			return fmt.Errorf("no results from go %s: %s", strings.Join(args, " "), out)
		}
	}
	return nil
}
