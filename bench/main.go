package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

type options struct {
	out      string
	duration time.Duration
	conns    int
	threads  int
	writes   int
	skip     map[string]bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "h1proxy" {
		if err := runH1Proxy(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench h1proxy:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "fleet-report" {
		if err := runFleetReport(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench fleet-report:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "fleet" {
		if err := runFleet(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench fleet:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	var skip string
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "where to write the report")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "wrk duration per proxy run")
	flag.IntVar(&o.conns, "connections", 64, "wrk keep-alive connections")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads")
	flag.IntVar(&o.writes, "writes", 100, "Admin API writes for the propagation and apply rows")
	flag.StringVar(&skip, "skip", "", "comma-separated sections to skip: proxy,httplog,floor,floorprofile (the floor's profile pass),gobench,apply,propagation,memory,fleet")
	flag.Parse()
	o.skip = map[string]bool{}
	for _, s := range splitComma(skip) {
		o.skip[s] = true
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// env is what every section shares: a scratch directory, the skyport binary.
type env struct {
	dir    string
	binary string
}

func run(ctx context.Context, o options) error {
	// The hand-kept text of the report being replaced, read first so that
	// a malformed one fails before the run rather than after it.
	kept, err := keepFrom(o.out)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "skyport-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e := &env{dir: dir, binary: filepath.Join(dir, "skyport")}
	if err := buildSkyport(e); err != nil {
		return err
	}
	r := &report{started: time.Now(), opts: o}
	r.machine = machine()
	sections := []struct {
		name string
		fn   func(context.Context, *env, options, *report) error
	}{
		{"proxy", benchProxy},
		{"httplog", benchHTTPLog},
		{"floor", benchFloor},
		{"gobench", benchRouter},
		{"apply", benchApply},
		{"propagation", benchPropagation},
		{"memory", benchMemory},
		{"fleet", benchFleet},
	}
	for _, s := range sections {
		if o.skip[s.name] {
			r.notes = append(r.notes, fmt.Sprintf("section %s skipped (-skip)", s.name))
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s\n", s.name)
		started := time.Now()
		if err := s.fn(ctx, e, o, r); err != nil {
			r.notes = append(r.notes, fmt.Sprintf("section %s failed: %v", s.name, err))
			fmt.Fprintf(os.Stderr, "bench: %s failed: %v\n", s.name, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %s took %s\n", s.name, time.Since(started).Round(time.Second))
	}
	r.finished = time.Now()
	if err := snapshot.WriteFileAtomic(o.out, []byte(withKept(r.markdown(), kept)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", o.out)
	return nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// buildSkyport builds the skyport binary the sections run.
func buildSkyport(e *env) error {
	fmt.Fprintln(os.Stderr, "bench: building skyport")
	build := exec.Command("go", "build", "-trimpath", "-o", e.binary, "github.com/skyport-gw/skyport/cmd/skyport")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building skyport: %w: %s", err, out)
	}
	return nil
}
