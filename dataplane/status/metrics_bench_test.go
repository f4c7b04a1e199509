package status_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/status"
	"github.com/skyport-gw/skyport/internal/cputime"
)

// BenchmarkObserveRequest measures the metrics of one proxied request
// (the stage table in BENCHMARKS.md): through a kept Series, as the proxy
// observes, and through ObserveRequest, which looks the labels up.
func BenchmarkObserveRequest(b *testing.B) {
	m := status.NewMetrics()
	b.Run("series", func(b *testing.B) {
		s := m.Series("s", "r")
		b.ReportAllocs()
		cputime.Loop(b, func() { s.Observe(http.StatusOK, time.Millisecond, 100*time.Microsecond) })
	})
	b.Run("labels", func(b *testing.B) {
		b.ReportAllocs()
		cputime.Loop(b, func() { m.ObserveRequest("s", "r", http.StatusOK, time.Millisecond, 100*time.Microsecond) })
	})
}
