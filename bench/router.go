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
	// cpuNsPerOp is the process's CPU time per operation, for the
	// benchmarks that report it (internal/cputime); 0 otherwise.
	cpuNsPerOp float64
	bytes      int64
	allocs     int64
	// metrics are the other figures the benchmark reports itself, by
	// unit ("rest-cpu-ns/op": 812).
	metrics map[string]float64
}

// cpuOrWall is the benchmark's CPU ns/op where it reports one, its wall
// ns/op otherwise, and which of the two it is.
func (gb goBench) cpuOrWall() (float64, string) {
	if gb.cpuNsPerOp > 0 {
		return gb.cpuNsPerOp, "CPU"
	}
	return gb.nsPerOp, "wall"
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
var (
	reBench = regexp.MustCompile(`(?m)^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+(?:-?[\d.]+ \S+/op\s+)*?(\d+) B/op\s+(\d+) allocs/op`)
	reCPU   = regexp.MustCompile(`\s([\d.]+) cpu-ns/op\s`)
	reUnit  = regexp.MustCompile(`\s(-?[\d.]+) ([a-z][a-z-]*-ns/op)\s`)
)

// parseGoBench reads every result line of go test -bench's output.
func parseGoBench(pkg, out string) []goBench {
	var r []goBench
	for _, m := range reBench.FindAllStringSubmatch(out, -1) {
		ns, _ := strconv.ParseFloat(m[2], 64)
		b, _ := strconv.ParseInt(m[3], 10, 64)
		a, _ := strconv.ParseInt(m[4], 10, 64)
		gb := goBench{name: strings.TrimPrefix(pkg, "./") + " " + m[1], nsPerOp: ns, bytes: b, allocs: a}
		if c := reCPU.FindStringSubmatch(m[0]); c != nil {
			gb.cpuNsPerOp, _ = strconv.ParseFloat(c[1], 64)
		}
		for _, u := range reUnit.FindAllStringSubmatch(m[0], -1) {
			if u[2] == "cpu-ns/op" {
				continue
			}
			if gb.metrics == nil {
				gb.metrics = map[string]float64{}
			}
			gb.metrics[u[2]], _ = strconv.ParseFloat(u[1], 64)
		}
		r = append(r, gb)
	}
	return r
}

func benchRouter(ctx context.Context, e *env, o options, r *report) error {
	for _, gb := range goBenchmarks {
		args := goBenchCommand(gb.pattern, gb.pkg)
		out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, out)
		}
		found := parseGoBench(gb.pkg, string(out))
		r.gobench = append(r.gobench, found...)
		if len(found) == 0 {
			return fmt.Errorf("no results from go %s: %s", strings.Join(args, " "), out)
		}
	}
	return benchInproc(ctx, e, o, r)
}
