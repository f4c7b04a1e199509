package scale_test

import (
	"fmt"
	"testing"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// BenchmarkOpenPacked is what a cold publisher (and a data plane) spends
// reading a full snapshot back: verify, decompress and decode it as a
// stream, each entity packed as it is read (snapshot.OpenPacked).
// cpu-s/op is the CPU time of one open.
func BenchmarkOpenPacked(b *testing.B) {
	for _, n := range entityCounts(b) {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			data, ptr, pub := sealed(b, n)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				if _, err := snapshot.OpenPacked(data, ptr, pub); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}
