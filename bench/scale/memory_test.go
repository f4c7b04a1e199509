package scale_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/bench/scale"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// BenchmarkDataPlaneMemory applies a generated configuration as a data
// plane receives it (a sealed snapshot: verify, decode, pack, compile,
// swap), drops everything but the running configuration, hands the freed
// memory back as `skyport dp` does after an apply, and reports the
// process's resident memory, its peak while applying, and the heap in use.
// One iteration per size is what it measures: run it with -benchtime 1x.
func BenchmarkDataPlaneMemory(b *testing.B) {
	for _, n := range entityCounts(b) {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			data, ptr, pub := sealed(b, n)
			px := proxy.New(proxy.Options{Registry: plugins.Registry()})
			defer px.Close()
			// The peak measured is the apply's: generating and sealing the
			// configuration cost more than a data plane ever holds.
			runtime.GC()
			debug.FreeOSMemory()
			resetPeakRSS(b)
			b.ResetTimer()
			for range b.N {
				doc, err := dpsync.Standard{}.OpenSnapshot(data, ptr, pub)
				if err != nil {
					b.Fatal(err)
				}
				if err := px.Apply(context.Background(), &doc.Config, doc.Revision, "bench"); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.GC() // as skyport dp's releaseMemory: sync.Pools drop what they hold
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if path := os.Getenv("SCALE_HEAP_PROFILE"); path != "" {
				writeHeapProfile(b, path)
			}
			if os.Getenv("SCALE_MEMDIAG") != "" {
				logMemClasses(b)
			}
			b.ReportMetric(float64(rssKB())/1024, "rss-MB")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MB")
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-alloc-MB")
			b.ReportMetric(float64(peakRSSKB())/1024, "peak-rss-MB")
			if rev, _ := px.Current(); rev != 1 {
				b.Fatalf("running revision %d, want 1", rev)
			}
		})
	}
}

// writeHeapProfile writes the heap profile of what the running
// configuration holds (SCALE_HEAP_PROFILE=file names the file).
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// sealed returns the signed snapshot of a generated configuration of n
// entities, its pointer and the verify key.
func sealed(b *testing.B, n int) ([]byte, snapshot.Pointer, []byte) {
	var buf bytes.Buffer
	if err := scale.Write(&buf, scale.ShapeFor(n), scale.JSON); err != nil {
		b.Fatal(err)
	}
	cfg, err := declarative.Parse(buf.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	pub, key, err := snapshot.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	doc := &snapshot.Document{ClusterID: "4f1b6a52-2c41-4d5e-9a0b-0c3d2e1f4a5b", Epoch: 1, Revision: 1, Config: *cfg}
	data, ptr, err := snapshot.Seal(doc, key, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return data, ptr, pub
}

// resetPeakRSS sets the process's peak resident memory (VmHWM) to its
// current one (Linux: /proc/self/clear_refs).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("peak RSS not reset, it includes the setup's: %v", err)
	}
}

// rssKB and peakRSSKB read VmRSS and VmHWM of this process (Linux).
func rssKB() int64     { return procStatus("VmRSS:") }
func peakRSSKB() int64 { return procStatus("VmHWM:") }

func procStatus(field string) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
