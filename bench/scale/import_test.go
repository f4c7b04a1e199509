package scale_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/bench/scale"
	"github.com/skyport-gw/skyport/internal/cputime"
	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/imports"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

// discardStager is an imports.Stager that writes nothing: the benchmark
// measures the runner, not a store.
type discardStager struct{}

func (discardStager) Stage(context.Context, string, []model.Entity) error { return nil }
func (discardStager) CommitStaged(context.Context, string, []string, store.Origin) (int64, string, error) {
	return 1, "", nil
}
func (discardStager) DropStaged(context.Context, string) {}

// filePresigner names the object itself; the benchmark uploads with Put.
type filePresigner struct{}

func (filePresigner) PresignPut(_ context.Context, key string, _ time.Duration) (string, error) {
	return "file:///" + key, nil
}

type noLaunch struct{}

func (noLaunch) Launch(context.Context, string) error { return nil }

// BenchmarkImportContinuation measures what an import job costs the
// importer Lambda per invocation, on a generated kong.yml: parse-cpu-s is
// reading, parsing and checking the upload (what every continuation paid
// when it parsed the upload again); first-cpu-s the first invocation,
// which parses and, out of time before its first batch, keeps every
// entity parsed in parts; next-cpu-s a continuation, which reads the
// part it stages from.
func BenchmarkImportContinuation(b *testing.B) {
	for _, n := range entityCounts(b) {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			doc := document(b, n, scale.YAML)
			ctx := context.Background()
			cpu := cputime.Process()
			for range b.N {
				cfg, err := declarative.Parse(doc)
				if err == nil {
					err = store.CheckConfig(cfg)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cputime.Process()-cpu).Seconds()/float64(b.N), "parse-cpu-s")
			var first, next time.Duration
			for range b.N {
				dir := b.TempDir()
				objects, err := objstore.NewDir(filepath.Join(dir, "objects"))
				if err != nil {
					b.Fatal(err)
				}
				st, err := embedded.Open(filepath.Join(dir, "cp.db"))
				if err != nil {
					b.Fatal(err)
				}
				jobs := imports.NewJobs(imports.Options{Objects: objects, Presigner: filePresigner{}, Launcher: noLaunch{}})
				job, err := jobs.Create(ctx)
				if err == nil {
					_, err = objects.Put(ctx, imports.UploadKey(job.ID), doc, objstore.Condition{})
				}
				if err == nil {
					_, err = jobs.Start(ctx, job.ID, store.Origin{})
				}
				if err != nil {
					b.Fatal(err)
				}
				r := imports.NewRunner(imports.RunnerOptions{Objects: objects, Store: st, Stager: discardStager{}})
				for _, d := range []*time.Duration{&first, &next} {
					cpu := cputime.Process()
					// A deadline already passed: each invocation hands on.
					more, err := r.Run(ctx, job.ID, time.Now())
					if err != nil || !more {
						b.Fatalf("import invocation: more %v, %v", more, err)
					}
					*d += cputime.Process() - cpu
				}
				_ = st.Close()
			}
			b.ReportMetric(first.Seconds()/float64(b.N), "first-cpu-s")
			b.ReportMetric(next.Seconds()/float64(b.N), "next-cpu-s")
		})
	}
}
