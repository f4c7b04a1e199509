package status_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/status"
)

// BenchmarkObserveRequest measures the metrics of one proxied request
// (the stage table in BENCHMARKS.md).
func BenchmarkObserveRequest(b *testing.B) {
	m := status.NewMetrics()
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest("s", "r", http.StatusOK, time.Millisecond, 100*time.Microsecond)
	}
}
