package scale_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/skyport-gw/skyport/bench/scale"
	"github.com/skyport-gw/skyport/dataplane/preflight"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

// exportOnly is the embedded store without its change log: the publisher
// exports the whole configuration for every revision, as it did before
// the log existed.
type exportOnly struct{ s *embedded.Store }

func (e exportOnly) Export(ctx context.Context) (*model.Config, int64, error) { return e.s.Export(ctx) }
func (e exportOnly) Revision(ctx context.Context) (int64, error)              { return e.s.Revision(ctx) }
func (e exportOnly) Identity(ctx context.Context) (store.Identity, error)     { return e.s.Identity(ctx) }
func (e exportOnly) NewEpoch(ctx context.Context, from snapshot.Identity, to int64) (snapshot.Identity, error) {
	return e.s.NewEpoch(ctx, from, to)
}

// median returns the median of ds in milliseconds.
func median(ds []time.Duration) float64 {
	slices.Sort(ds)
	return float64(ds[len(ds)/2].Microseconds()) / 1000
}

// BenchmarkWritePublish measures one route write followed by its
// publication (read the revision, check it compiles, seal the delta and,
// when the schedule calls for one, the full snapshot, move latest.json)
// on the embedded store holding a generated configuration: from the
// change log with the default full-snapshot schedule ("changes", what the
// publisher does: the writes measured are published as deltas chained
// after a full snapshot), from the change log with a full snapshot every
// revision ("full": what a scheduled full snapshot costs, and every write
// before the schedule), and from a whole export ("export", before the
// change log). It reports the median write → published time and the CPU
// per write.
func BenchmarkWritePublish(b *testing.B) {
	for _, n := range entityCounts(b) {
		for _, mode := range []string{"changes", "full", "export"} {
			b.Run(fmt.Sprintf("entities=%d/%s", n, mode), func(b *testing.B) {
				h, st := newAdmin(b)
				load(b, h, document(b, n, scale.JSON))
				var src publisher.Source = st
				if mode == "export" {
					src = exportOnly{st}
				}
				objects, err := objstore.NewDir(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				every := 0
				if mode != "changes" {
					every = 1
				}
				benchWritePublish(b, st, src, objects, every)
			})
		}
	}
}

// BenchmarkWritePublishAWS is BenchmarkWritePublish on the AWS path,
// against the emulator: the DynamoDB store (loaded through POST /config,
// a generation written aside) and S3. The emulator copies every table
// for each TransactWriteItems (to roll it back), so its writes cost the
// table's size; publish-p50-ms is the publication alone.
func BenchmarkWritePublishAWS(b *testing.B) {
	for _, n := range entityCounts(b) {
		b.Run(fmt.Sprintf("entities=%d/changes", n), func(b *testing.B) {
			ctx := context.Background()
			srv := motoserver.Start(b)
			cfg := srv.Config()
			st := dynamo.New(dynamodb.NewFromConfig(cfg), "skyport")
			if err := st.CreateTable(ctx); err != nil {
				b.Fatal(err)
			}
			objects := objstore.NewS3(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), "skyport", "cp")
			if err := objects.CreateBucket(ctx); err != nil {
				b.Fatal(err)
			}
			load(b, admin.New(admin.Options{Store: st, Database: "dynamodb"}), document(b, n, scale.JSON))
			benchWritePublish(b, st, st, objects, 0)
		})
	}
}

// benchWritePublish measures writes and their publications; fullEvery is
// the publisher's FullEvery (0: the default schedule). After them, a cold
// publisher (a new process's, as a Lambda invocation that finds none warm)
// publishes one more write: it reads its base back from the snapshot and
// its chain, and compiles it whole.
func benchWritePublish(b *testing.B, st store.Store, src publisher.Source, objects objstore.Store, fullEvery int) {
	ctx := context.Background()
	_, priv, err := snapshot.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	opts := publisher.Options{Source: src, Objects: objects, Key: priv, Validator: preflight.New(),
		FullEvery: fullEvery, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	pub := publisher.New(opts)
	if _, err := pub.Publish(ctx); err != nil {
		b.Fatal(err)
	}
	page, err := st.List(ctx, model.KindRoute, store.ListOptions{Size: 1})
	if err != nil || len(page.Items) == 0 {
		b.Fatalf("no route to write: %v", err)
	}
	id := page.Items[0].Meta().ID
	times, pubs := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	allocs := make([]uint64, 0, b.N)
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		start := time.Now()
		rev := writeRoute(b, st, id, i)
		before := totalAlloc()
		published := time.Now()
		publishRevision(b, pub, rev)
		times = append(times, time.Since(start))
		pubs = append(pubs, time.Since(published))
		allocs = append(allocs, totalAlloc()-before)
	}
	b.StopTimer()
	b.ReportMetric(median(times), "p50-ms")
	b.ReportMetric(median(pubs), "publish-p50-ms")
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
	slices.Sort(allocs)
	b.ReportMetric(float64(allocs[len(allocs)/2])/(1<<20), "publish-alloc-MB")
	// What the publisher holds between publications (the configuration
	// it published last, the base of the next delta): the heap in use
	// with it, less the heap in use once it is unreachable (after its
	// last use, the KeepAlive).
	held := heapInuse()
	runtime.KeepAlive(pub)
	base := heapInuse()
	b.ReportMetric(float64(held-base)/(1<<20), "publisher-held-MB")

	rev := writeRoute(b, st, id, b.N)
	cold := publisher.New(opts)
	peak := watchHeap()
	cpu = cpuTime()
	publishRevision(b, cold, rev)
	b.ReportMetric((cpuTime() - cpu).Seconds(), "cold-cpu-s")
	b.ReportMetric(float64(peak()-base)/(1<<20), "cold-peak-MB")
	runtime.KeepAlive(cold)
}

// writeRoute updates route id (its i-th write) and returns the revision.
func writeRoute(b *testing.B, st store.Store, id string, i int) int64 {
	ctx := context.Background()
	e, ver, err := st.GetVersioned(ctx, model.KindRoute, id)
	if err != nil {
		b.Fatal(err)
	}
	r := *e.(*model.Route)
	r.Tags = []string{"write-" + strconv.Itoa(i)}
	rev, err := st.Update(ctx, &r, ver, store.Origin{})
	if err != nil {
		b.Fatal(err)
	}
	return rev
}

// publishRevision publishes with pub and checks that rev was, with a
// delta.
func publishRevision(b *testing.B, pub *publisher.Publisher, rev int64) {
	ptr, err := pub.Publish(context.Background())
	if err != nil || ptr.Revision != rev {
		b.Fatalf("published %d, want %d: %v", ptr.Revision, rev, err)
	}
	if ptr.Delta.Key == "" {
		b.Fatalf("revision %d published without a delta", rev)
	}
}

// watchHeap samples the heap in use every 5 ms until the function it
// returns is called, which returns the highest sample.
func watchHeap() func() int64 {
	stop, done := make(chan struct{}), make(chan int64)
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		var peak int64
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, int64(ms.HeapInuse))
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		return <-done
	}
}

// totalAlloc is the bytes the process allocated so far.
func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// heapInuse is the heap in use after a collection.
func heapInuse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}
