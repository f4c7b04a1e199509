package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
)

// routerRow is one BenchmarkMatch result.
type routerRow struct {
	routes  string
	nsPerOp float64
	bytes   int64
	allocs  int64
}

var reBench = regexp.MustCompile(`BenchmarkMatch/routes=(\d+)\S*\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op`)

// routerCommand is recorded in the report.
const routerCommand = "go test -run '^$' -bench BenchmarkMatch -benchmem -benchtime 1s ./dataplane/router"

func benchRouter(ctx context.Context, e *env, o options, r *report) error {
	out, err := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "BenchmarkMatch",
		"-benchmem", "-benchtime", "1s", "./dataplane/router").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	for _, m := range reBench.FindAllStringSubmatch(string(out), -1) {
		ns, _ := strconv.ParseFloat(m[2], 64)
		b, _ := strconv.ParseInt(m[3], 10, 64)
		a, _ := strconv.ParseInt(m[4], 10, 64)
		r.router = append(r.router, routerRow{routes: m[1], nsPerOp: ns, bytes: b, allocs: a})
	}
	if len(r.router) == 0 {
		return fmt.Errorf("no BenchmarkMatch results in: %s", out)
	}
	return nil
}
