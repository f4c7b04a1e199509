// Package cputime measures the CPU time a benchmark's process uses: on a
// shared machine it measures the work, where ns/op measures the waiting too,
// and it counts every goroutine's work (upstreams, receivers, queues) that
// ns/op hides in parallelism.
package cputime

import (
	"syscall"
	"testing"
	"time"
)

// Process is the CPU time (user and system) the process has used so far.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Report reports the CPU time used since start, per op of n, as cpu-ns/op.
func Report(b *testing.B, start time.Duration, n int) {
	b.Helper()
	if n > 0 {
		b.ReportMetric(float64(Process()-start)/float64(n), "cpu-ns/op")
	}
}

// Loop runs op in b.Loop and reports its CPU time per op (cpu-ns/op).
func Loop(b *testing.B, op func()) {
	b.Helper()
	n := 0
	start := Process()
	for b.Loop() {
		op()
		n++
	}
	Report(b, start, n)
}
