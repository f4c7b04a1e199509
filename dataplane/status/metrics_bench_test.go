package status_test

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/status"
)

// BenchmarkObserveRequest measures the metrics of one proxied request
// (the stage table in BENCHMARKS.md): through a kept Series, as the proxy
// observes, and through ObserveRequest, which looks the labels up.
func BenchmarkObserveRequest(b *testing.B) {
	m := status.NewMetrics()
	b.Run("series", func(b *testing.B) {
		s := m.Series("s", "r")
		b.ReportAllocs()
		loopCPU(b, func() { s.Observe(http.StatusOK, time.Millisecond, 100*time.Microsecond) })
	})
	b.Run("labels", func(b *testing.B) {
		b.ReportAllocs()
		loopCPU(b, func() { m.ObserveRequest("s", "r", http.StatusOK, time.Millisecond, 100*time.Microsecond) })
	})
}

// loopCPU runs op in b.Loop and reports the process's CPU time per op
// (cpu-ns/op): on a shared machine it measures the work where ns/op
// measures the waiting too.
func loopCPU(b *testing.B, op func()) {
	n := 0
	cpu := cpuTime()
	for b.Loop() {
		op()
		n++
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(n), "cpu-ns/op")
}

func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
