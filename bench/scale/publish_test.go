package scale_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/bench/scale"
	"github.com/skyport-gw/skyport/dataplane/preflight"
	"github.com/skyport-gw/skyport/internal/cputime"
	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/eventsource"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
	"github.com/skyport-gw/skyport/lambdas/store/storetest"
)

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
					src = storetest.ExportOnly{Store: st}
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
// against the emulator (DynamoDB, its stream, S3), driven as the stack
// drives it: each route write is a transaction of the DynamoDB store,
// and its publication is the publisher's stream handler (HandleEvent)
// invoked with the write's stream records, from reading them to
// latest.json moved. The emulator copies the whole table for each item
// of a TransactWriteItems (to roll it back), so a write costs the
// table's size there (write-p50-s, the emulator's cost, not AWS's): the
// table is seeded without transactions (Stage, SeedStaged: the items an
// import writes), and the handler reads the stream from its end after
// the seed. publish-p50-ms is the publication's wall time, of which
// publish-emulator-p50-ms waiting on the emulator's answers and
// publish-own-p50-ms the rest; publish-cpu-ms its CPU in this process
// (the emulator's apart).
func BenchmarkWritePublishAWS(b *testing.B) {
	for _, n := range entityCounts(b) {
		b.Run(fmt.Sprintf("entities=%d/stream", n), func(b *testing.B) {
			ctx := context.Background()
			srv := motoserver.Start(b)
			cfg := srv.Config()
			clock := &waitClock{c: &http.Client{}, ops: map[string]opWait{}}
			cfg.HTTPClient = clock
			ddb := dynamodb.NewFromConfig(cfg)
			st := dynamo.New(ddb, "skyport")
			// The emulator keeps every record its stream ever got and
			// copies them with the table on each transaction: the table
			// is created without its stream, which is turned on once it
			// is seeded.
			if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName: aws.String("skyport"), BillingMode: ddbtypes.BillingModePayPerRequest,
				AttributeDefinitions: []ddbtypes.AttributeDefinition{
					{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
					{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
				},
				KeySchema: []ddbtypes.KeySchemaElement{
					{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
					{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
				},
			}); err != nil {
				b.Fatal(err)
			}
			objects := objstore.NewS3(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), "skyport", "cp")
			if err := objects.CreateBucket(ctx); err != nil {
				b.Fatal(err)
			}
			seeded := time.Now()
			seededCfg := seed(b, st, n)
			seedTime := time.Since(seeded)
			enableStream(b, ddb, "skyport")
			streamARN, err := eventsource.LatestStreamARN(ctx, ddb, "skyport")
			if err != nil {
				b.Fatal(err)
			}
			_, priv, err := snapshot.GenerateKey()
			if err != nil {
				b.Fatal(err)
			}
			// The first publication exports the configuration: from the
			// seed's own, which the table holds, since the emulator scans
			// the whole table for every page of a Query, so its export is
			// quadratic in the table's size. The publications measured
			// read the store's change log.
			src := &seededSource{Store: st, cfg: seededCfg}
			opts := publisher.Options{Source: src, Objects: objects, Key: priv, Validator: preflight.New(),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			pub := publisher.New(opts)
			// The first publication is the full snapshot the writes'
			// deltas chain after.
			first := time.Now()
			if _, err := pub.Publish(ctx); err != nil {
				b.Fatal(err)
			}
			if src.cfg != nil {
				b.Fatal("the first publication did not export")
			}
			firstTime := time.Since(first)
			poller := eventsource.New(eventsource.Options{
				Client: dynamodbstreams.NewFromConfig(cfg), StreamARN: streamARN,
				Filter: eventsource.RevisionFilter, Handler: pub.HandleEvent, MaxRetries: -1,
				StartingPosition: streamtypes.ShardIteratorTypeLatest,
				Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if _, err := poller.Poll(ctx); err != nil {
				b.Fatal(err)
			}
			page, err := st.List(ctx, model.KindRoute, store.ListOptions{Size: 1})
			if err != nil || len(page.Items) == 0 {
				b.Fatalf("no route to write: %v", err)
			}
			id := page.Items[0].Meta().ID
			var writes, pubs, waits, own []time.Duration
			var cpu time.Duration
			// b.Loop runs the setup above once, where b.N would run it
			// for a first round of one write too.
			for i := 0; b.Loop(); i++ {
				written := time.Now()
				rev := writeRoute(b, st, id, i)
				writes = append(writes, time.Since(written))
				clock.byOp()
				published, before, waited := time.Now(), cputime.Process(), clock.waited()
				if _, err := poller.Poll(ctx); err != nil {
					b.Fatal(err)
				}
				pub, wait := time.Since(published), clock.waited()-waited
				pubs, waits, own = append(pubs, pub), append(waits, wait), append(own, pub-wait)
				b.Logf("publication %d: %s, calls and waiting on the emulator by operation: %v", i, pub, clock.byOp())
				cpu += cputime.Process() - before
				if ptr := latest(b, objects); ptr.Revision != rev || ptr.Delta.Key == "" {
					b.Fatalf("latest.json is at %d (delta %q), want %d with a delta", ptr.Revision, ptr.Delta.Key, rev)
				}
			}
			b.ReportMetric(median(pubs), "publish-p50-ms")
			b.ReportMetric(median(waits), "publish-emulator-p50-ms")
			b.ReportMetric(median(own), "publish-own-p50-ms")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(pubs)), "publish-cpu-ms")
			b.ReportMetric(median(writes)/1000, "write-p50-s")
			b.ReportMetric(seedTime.Seconds(), "seed-s")
			b.ReportMetric(firstTime.Seconds(), "first-publish-s")
		})
	}
}

// seed loads a generated configuration of about n entities into st
// without transactions, as an import stages it: parsed, checked, staged
// as a generation in batches, made current as revision 1.
func seed(b *testing.B, st *dynamo.Store, n int) *model.Config {
	ctx := context.Background()
	cfg, err := declarative.Parse(document(b, n, scale.JSON))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Unix()
	var entities []model.Entity
	cfg.Each(func(e model.Entity) {
		m := e.Meta()
		m.CreatedAt, m.UpdatedAt = now, now
		entities = append(entities, e)
	})
	if err := store.CheckConfig(cfg); err != nil {
		b.Fatal(err)
	}
	gen := uuid.NewString()
	if err := st.Stage(ctx, gen, entities); err != nil {
		b.Fatal(err)
	}
	if _, err := st.SeedStaged(ctx, gen, []string{fmt.Sprintf("seed: %d entities", len(entities))}, store.Origin{}); err != nil {
		b.Fatal(err)
	}
	return cfg
}

// seededSource is the store whose first Export is the configuration it
// was seeded with (at revision 1); later ones read the table.
type seededSource struct {
	*dynamo.Store
	cfg *model.Config
}

func (s *seededSource) Export(ctx context.Context) (*model.Config, int64, error) {
	if cfg := s.cfg; cfg != nil {
		s.cfg = nil
		return cfg, 1, nil
	}
	return s.Store.Export(ctx)
}

// enableStream turns the table's stream on, with new and old images,
// as the store's CreateTable makes it.
func enableStream(b *testing.B, ddb *dynamodb.Client, table string) {
	spec := &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewAndOldImages}
	if _, err := ddb.UpdateTable(context.Background(), &dynamodb.UpdateTableInput{TableName: aws.String(table), StreamSpecification: spec}); err != nil {
		b.Fatalf("turning the stream of %s on: %v", table, err)
	}
}

// waitClock is an HTTP client that adds up how long its requests take to
// answer (to the response's headers): the time spent waiting on the
// emulator, in all and by operation.
type waitClock struct {
	c    *http.Client
	wait atomic.Int64
	mu   sync.Mutex
	ops  map[string]opWait
}

// opWait is the calls of one operation and the time waited on them.
type opWait struct {
	calls int
	wait  time.Duration
}

func (o opWait) String() string { return fmt.Sprintf("%d× %s", o.calls, o.wait) }

func (w *waitClock) Do(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := w.c.Do(r)
	d := time.Since(start)
	w.wait.Add(int64(d))
	op := r.Header.Get("X-Amz-Target") // DynamoDB and its streams
	if op == "" {
		op = "S3 " + r.Method
	}
	w.mu.Lock()
	o := w.ops[op]
	w.ops[op] = opWait{o.calls + 1, o.wait + d}
	w.mu.Unlock()
	return resp, err
}

func (w *waitClock) waited() time.Duration { return time.Duration(w.wait.Load()) }

// byOp returns the calls and the time waited by operation since the
// last call.
func (w *waitClock) byOp() map[string]opWait {
	w.mu.Lock()
	defer w.mu.Unlock()
	ops := w.ops
	w.ops = map[string]opWait{}
	return ops
}

// latest reads latest.json.
func latest(b *testing.B, objects objstore.Store) snapshot.Pointer {
	data, _, err := objects.Get(context.Background(), snapshot.LatestKey)
	if err != nil {
		b.Fatal(err)
	}
	var p snapshot.Pointer
	if err := json.Unmarshal(data, &p); err != nil {
		b.Fatal(err)
	}
	return p
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
	runtime.GC() // the load's and the first publication's garbage is not the writes'
	b.ResetTimer()
	warmPeak := watchHeap()
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
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
	warm := warmPeak()
	b.ReportMetric(median(times), "p50-ms")
	b.ReportMetric(median(pubs), "publish-p50-ms")
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
	// The highest heap in use during the warm publications, above the
	// heap without the publisher: what it holds and what a publication
	// adds (in "full", the sealing of a full snapshot), a lower bound.
	b.ReportMetric(float64(warm-base)/(1<<20), "warm-peak-MB")

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
