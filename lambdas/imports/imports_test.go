package imports_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/imports"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

// kongYML is a configuration of n services, each with one route.
func kongYML(n int) []byte {
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\nservices:\n")
	for i := range n {
		fmt.Fprintf(&b, "- name: svc-%d\n  url: http://upstream-%d.test:8080\n  routes:\n  - name: route-%d\n    paths: [\"/r%d\"]\n", i, i, i, i)
	}
	return []byte(b.String())
}

// launches records the jobs launched.
type launches struct {
	mu  sync.Mutex
	ids []string
}

func (l *launches) Launch(_ context.Context, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids = append(l.ids, id)
	return nil
}

func (l *launches) taken() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := l.ids
	l.ids = nil
	return ids
}

// dirPresigner names the object itself: the tests upload with Put.
type dirPresigner struct{}

func (dirPresigner) PresignPut(_ context.Context, key string, _ time.Duration) (string, error) {
	return "file:///" + key, nil
}

// fixture is a job service and a runner over one object store and store.
type fixture struct {
	objects objstore.Store
	store   store.Store
	jobs    *imports.Jobs
	runner  *imports.Runner
	launch  *launches
}

func newEmbedded(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	objects, err := objstore.NewDir(filepath.Join(dir, "objects"))
	require.NoError(t, err)
	st, err := embedded.Open(filepath.Join(dir, "cp.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return newFixture(objects, st, nil, dirPresigner{})
}

func newFixture(objects objstore.Store, st store.Store, stager imports.Stager, p objstore.PutPresigner) *fixture {
	l := &launches{}
	return &fixture{
		objects: objects, store: st, launch: l,
		jobs:   imports.NewJobs(imports.Options{Objects: objects, Presigner: p, Launcher: l}),
		runner: imports.NewRunner(imports.RunnerOptions{Objects: objects, Store: st, Stager: stager, Batch: 10}),
	}
}

// started creates a job, uploads doc and starts it.
func (f *fixture) started(t *testing.T, doc []byte) imports.Job {
	t.Helper()
	ctx := context.Background()
	job, err := f.jobs.Create(ctx)
	require.NoError(t, err)
	require.Equal(t, imports.StateAwaitingUpload, job.State)
	require.NotNil(t, job.Upload)
	_, err = f.objects.Put(ctx, imports.UploadKey(job.ID), doc, objstore.Condition{})
	require.NoError(t, err)
	job, err = f.jobs.Start(ctx, job.ID, store.Origin{Method: "POST", Path: "/config/imports/" + job.ID + "/start"})
	require.NoError(t, err)
	require.Equal(t, imports.StateQueued, job.State)
	require.Equal(t, []string{job.ID}, f.launch.taken())
	return job
}

// runAll runs the job to its end, as the local worker does.
func (f *fixture) runAll(t *testing.T, id string) imports.Job {
	t.Helper()
	more, err := f.runner.Run(context.Background(), id, time.Time{})
	require.NoError(t, err)
	require.False(t, more)
	job, err := f.jobs.Get(context.Background(), id)
	require.NoError(t, err)
	return job
}

func TestImportLoadsTheWholeConfiguration(t *testing.T) {
	t.Parallel()
	f := newEmbedded(t)
	ctx := context.Background()
	before, err := f.store.Revision(ctx)
	require.NoError(t, err)
	job := f.started(t, kongYML(30))
	job = f.runAll(t, job.ID)
	require.Equal(t, imports.StateSucceeded, job.State, job.Error)
	require.Equal(t, 60, job.Total)
	require.Equal(t, 60, job.Written)
	require.Equal(t, before+1, job.Revision)
	cfg, rev, err := f.store.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, job.Revision, rev)
	require.Len(t, cfg.Services, 30)
	require.Len(t, cfg.Routes, 30)
	require.Equal(t, job.StartedAt, cfg.Services[0].CreatedAt)
	// The upload is removed once loaded; running the job again does nothing.
	_, _, err = f.objects.Get(ctx, imports.UploadKey(job.ID))
	require.ErrorIs(t, err, objstore.ErrNotFound)
	more, err := f.runner.Run(ctx, job.ID, time.Time{})
	require.NoError(t, err)
	require.False(t, more)
	rev2, err := f.store.Revision(ctx)
	require.NoError(t, err)
	require.Equal(t, rev, rev2)
}

func TestJobErrors(t *testing.T) {
	t.Parallel()
	f := newEmbedded(t)
	ctx := context.Background()
	o := store.Origin{}
	for _, id := range []string{"nope", "../../latest.json", "00000000-0000-0000-0000-000000000000"} {
		_, err := f.jobs.Get(ctx, id)
		require.ErrorIs(t, err, imports.ErrNotFound, id)
		_, err = f.jobs.Start(ctx, id, o)
		require.ErrorIs(t, err, imports.ErrNotFound, id)
	}
	job, err := f.jobs.Create(ctx)
	require.NoError(t, err)
	_, err = f.jobs.Start(ctx, job.ID, o)
	require.ErrorIs(t, err, imports.ErrNoUpload)
	require.Empty(t, f.launch.taken())
	job = f.started(t, kongYML(1))
	_, err = f.jobs.Start(ctx, job.ID, o)
	require.ErrorIs(t, err, imports.ErrState, "a queued job is not started twice")
	job = f.runAll(t, job.ID)
	require.Equal(t, imports.StateSucceeded, job.State)
	_, err = f.jobs.Start(ctx, job.ID, o)
	require.ErrorIs(t, err, imports.ErrState, "a succeeded job is not started again")
}

func TestInvalidUploadFailsAndChangesNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc, doc, want string
	}{
		{desc: "not yaml", doc: "{{{", want: "declarative config is invalid"},
		{desc: "dangling reference", doc: "_format_version: \"3.0\"\nroutes:\n- name: r\n  paths: [/x]\n  service: nowhere\n", want: "nowhere"},
		{desc: "no format version", doc: "services: []\n", want: "_format_version"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			f := newEmbedded(t)
			ctx := context.Background()
			_, err := f.store.ReplaceAll(ctx, mustConfig(t, kongYML(2)), store.Origin{})
			require.NoError(t, err)
			before, err := f.store.Revision(ctx)
			require.NoError(t, err)
			job := f.runAll(t, f.started(t, []byte(tc.doc)).ID)
			require.Equal(t, imports.StateFailed, job.State)
			require.Contains(t, job.Error, tc.want)
			require.NotContains(t, job.Error, "\n")
			after, err := f.store.Revision(ctx)
			require.NoError(t, err)
			require.Equal(t, before, after)
			// A failed job may be started again, with a fixed upload.
			_, err = f.objects.Put(ctx, imports.UploadKey(job.ID), kongYML(3), objstore.Condition{})
			require.NoError(t, err)
			job, err = f.jobs.Start(ctx, job.ID, store.Origin{})
			require.NoError(t, err)
			require.Equal(t, 2, job.Attempt)
			job = f.runAll(t, job.ID)
			require.Equal(t, imports.StateSucceeded, job.State, job.Error)
			require.Equal(t, after+1, job.Revision)
		})
	}
}

func mustConfig(t *testing.T, doc []byte) *model.Config {
	t.Helper()
	cfg, err := declarative.Parse(doc)
	require.NoError(t, err)
	return cfg
}

// failingStager fails the stage of batch number failAt (1-based).
type failingStager struct {
	imports.Stager
	mu      sync.Mutex
	batches int
	failAt  int
}

var errInjected = errors.New("injected write failure")

func (s *failingStager) Stage(ctx context.Context, gen string, es []model.Entity) error {
	s.mu.Lock()
	s.batches++
	n := s.batches
	s.mu.Unlock()
	if n == s.failAt {
		return errInjected
	}
	return s.Stager.Stage(ctx, gen, es)
}

// TestWorkerResumesQueuedJobs: a job a previous process left queued is
// run by the next process's worker when it starts.
func TestWorkerResumesQueuedJobs(t *testing.T) {
	t.Parallel()
	f := newEmbedded(t)
	job := f.started(t, kongYML(5)) // queued; its launcher never ran it
	ctx, cancel := context.WithCancel(context.Background())
	w := imports.NewWorker(f.runner)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var got imports.Job
	require.Eventually(t, func() bool {
		var err error
		got, err = f.jobs.Get(context.Background(), job.ID)
		return err == nil && got.State == imports.StateSucceeded
	}, time.Minute, 20*time.Millisecond, "the worker did not run the job")
	require.Equal(t, 10, got.Written)
	cancel()
	require.NoError(t, <-done)
}

// savedProgress records the progress of every job record written.
type savedProgress struct {
	objstore.Store
	mu      sync.Mutex
	written []int
	// settled, when set, is closed once a job record in a final state
	// (succeeded or failed) is stored.
	settled chan struct{}
	once    sync.Once
}

func (s *savedProgress) Put(ctx context.Context, key string, data []byte, cond objstore.Condition) (string, error) {
	if strings.HasSuffix(key, "/job.json") {
		var rec struct {
			State   string `json:"state"`
			Written int    `json:"written"`
		}
		final := false
		if json.Unmarshal(data, &rec) == nil {
			switch rec.State {
			case string(imports.StateRunning):
				s.mu.Lock()
				s.written = append(s.written, rec.Written)
				s.mu.Unlock()
			case string(imports.StateSucceeded), string(imports.StateFailed):
				final = true
			}
		}
		etag, err := s.Store.Put(ctx, key, data, cond)
		if final && err == nil && s.settled != nil {
			s.once.Do(func() { close(s.settled) })
		}
		return etag, err
	}
	return s.Store.Put(ctx, key, data, cond)
}

// failingReplacer stops the embedded store's replace at its batch
// number failAt (1-based).
type failingReplacer struct {
	*embedded.Store
	failAt int
}

func (f failingReplacer) ReplaceInBatches(ctx context.Context, cfg *model.Config, summary []string, o store.Origin, progress func(int) error) (int64, error) {
	n := 0
	return f.Store.ReplaceInBatches(ctx, cfg, summary, o, func(written int) error {
		if n++; n == f.failAt {
			return errInjected
		}
		return progress(written)
	})
}

// TestEmbeddedImportInBatches: on the embedded store a job's progress
// advances with each transaction of the store's replace, and a failure
// midway leaves the previous configuration.
func TestEmbeddedImportInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	dirObjects, err := objstore.NewDir(filepath.Join(dir, "objects"))
	require.NoError(t, err)
	objects := &savedProgress{Store: dirObjects}
	st, err := embedded.OpenWith(filepath.Join(dir, "cp.db"), embedded.Options{StageBatch: 16})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })

	f := newFixture(objects, failingReplacer{Store: st, failAt: 3}, nil, dirPresigner{})
	_, err = st.ReplaceAll(ctx, mustConfig(t, kongYML(2)), store.Origin{})
	require.NoError(t, err)
	before, _, err := st.Export(ctx)
	require.NoError(t, err)
	job := f.runAll(t, f.started(t, kongYML(40)).ID)
	require.Equal(t, imports.StateFailed, job.State)
	require.Contains(t, job.Error, errInjected.Error())
	after, rev, err := st.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), rev, "nothing visible")
	require.Equal(t, before, after)

	objects.written = nil
	f.runner = imports.NewRunner(imports.RunnerOptions{Objects: objects, Store: st})
	_, err = f.objects.Put(ctx, imports.UploadKey(job.ID), kongYML(40), objstore.Condition{})
	require.NoError(t, err)
	_, err = f.jobs.Start(ctx, job.ID, store.Origin{})
	require.NoError(t, err)
	job = f.runAll(t, job.ID)
	require.Equal(t, imports.StateSucceeded, job.State, job.Error)
	require.Equal(t, 80, job.Written)
	require.Equal(t, int64(2), job.Revision)
	require.Greater(t, len(objects.written), 5, "progress recorded per batch: %v", objects.written)
	require.IsNonDecreasing(t, objects.written)
	require.Contains(t, objects.written, 16)
}

// ReplaceResumable fails as ReplaceInBatches does.
func (f failingReplacer) ReplaceResumable(ctx context.Context, name, token string, cfg *model.Config, summary []string, o store.Origin, progress func(int) error) (int64, error) {
	n := 0
	return f.Store.ReplaceResumable(ctx, name, token, cfg, summary, o, func(written int) error {
		if n++; n == f.failAt {
			return errInjected
		}
		return progress(written)
	})
}

// stopping is an object store that cancels a context once a job's
// record was saved running with written set stopAt times: the process
// stops between two batches.
type stopping struct {
	*savedProgress
	stopAt int
	cancel context.CancelFunc
}

func (s *stopping) Put(ctx context.Context, key string, data []byte, cond objstore.Condition) (string, error) {
	etag, err := s.savedProgress.Put(ctx, key, data, cond)
	s.mu.Lock()
	n := 0
	for _, w := range s.written {
		if w > 0 {
			n++
		}
	}
	s.mu.Unlock()
	if n == s.stopAt && s.cancel != nil {
		s.cancel()
	}
	return etag, err
}

// TestEmbeddedImportResumesAfterRestart: an import job on the embedded
// store, stopped between two batches with the process (its context ends,
// the store is closed), is resumed by the next process's worker from the
// last batch the store staged: no batch is staged twice (the progress
// records after the restart start where those before stopped and count
// the batches left), nothing is visible before it commits, and the result
// is the configuration a clean import gives. What a job that is not
// running left staged is deleted.
func TestEmbeddedImportResumesAfterRestart(t *testing.T) {
	t.Parallel()
	doc := kongYML(40)
	open := func(t *testing.T, dir string) *embedded.Store {
		st, err := embedded.OpenWith(filepath.Join(dir, "cp.db"), embedded.Options{StageBatch: 16})
		require.NoError(t, err)
		return st
	}

	// A clean import, for the batches and the result.
	cleanDir := t.TempDir()
	cleanObjects, err := objstore.NewDir(filepath.Join(cleanDir, "objects"))
	require.NoError(t, err)
	clean := open(t, cleanDir)
	defer clean.Close()
	cleanProgress := &savedProgress{Store: cleanObjects}
	cf := newFixture(cleanProgress, clean, nil, dirPresigner{})
	job := cf.runAll(t, cf.started(t, doc).ID)
	require.Equal(t, imports.StateSucceeded, job.State, job.Error)
	want, _, err := clean.Export(context.Background())
	require.NoError(t, err)
	all := cleanProgress.written[1:] // the first is the record's move to running
	require.Greater(t, len(all), 4, "batches: %v", all)

	dir := t.TempDir()
	dirObjects, err := objstore.NewDir(filepath.Join(dir, "objects"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	objects := &stopping{savedProgress: &savedProgress{Store: dirObjects}, stopAt: 3, cancel: cancel}
	st := open(t, dir)
	f := newFixture(objects, st, nil, dirPresigner{})
	id := f.started(t, doc).ID
	_, err = f.runner.Run(ctx, id, time.Time{})
	require.ErrorIs(t, err, context.Canceled)
	job, err = f.jobs.Get(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, imports.StateRunning, job.State)
	before := objects.written[1:]
	require.Len(t, before, 3)
	require.Equal(t, all[:3], before)
	rev, err := st.Revision(context.Background())
	require.NoError(t, err)
	require.Zero(t, rev, "nothing visible")
	// What a job no longer running left staged: the worker deletes it.
	gone, cancelGone := context.WithCancel(context.Background())
	cancelGone()
	_, err = st.ReplaceResumable(gone, "a000-0rphan", "t", mustConfig(t, kongYML(1)), nil, store.Origin{}, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, st.Close())

	// The next process: its worker resumes the job.
	st = open(t, dir)
	defer st.Close()
	resumed := &savedProgress{Store: dirObjects, settled: make(chan struct{})}
	w := imports.NewWorker(imports.NewRunner(imports.RunnerOptions{Objects: resumed, Store: st}))
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	select {
	case <-resumed.settled:
	case <-time.After(time.Minute): // a hang guard: the state is checked below
	}
	job, err = f.jobs.Get(context.Background(), id)
	require.NoError(t, err)
	stop()
	require.NoError(t, <-done)
	require.Equal(t, imports.StateSucceeded, job.State, job.Error)
	require.Equal(t, all[3:], resumed.written, "only the batches left are staged")
	got, _, err := st.Export(context.Background())
	require.NoError(t, err)
	require.Equal(t, configHash(t, want), configHash(t, got), "the configuration a clean import gives")
	left, err := st.Resumable(context.Background())
	require.NoError(t, err)
	require.Empty(t, left, "the job's replace committed, the other one's deleted")
}

// configHash returns cfg's configuration hash without the timestamps
// (each job stamps its entities with its start).
func configHash(t *testing.T, cfg *model.Config) string {
	t.Helper()
	cfg.Each(func(e model.Entity) {
		m := e.Meta()
		m.CreatedAt, m.UpdatedAt = 0, 0
	})
	return snapshot.ConfigHash(cfg)
}

// TestEmbeddedImportResumedWithGeneratedValues: a configuration that
// parses to other values every time (key-auth credentials with no key:
// each parse generates one) is not gone on with after a restart, which
// would stage its entities with one parse's keys and their unique values
// with another's; it is staged again, and every key finds its credential.
func TestEmbeddedImportResumedWithGeneratedValues(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\nconsumers:\n")
	for i := range 40 {
		fmt.Fprintf(&b, "- username: user-%d\n  keyauth_credentials:\n  - {}\n", i)
	}
	doc := []byte(b.String())
	dir := t.TempDir()
	open := func(t *testing.T) *embedded.Store {
		st, err := embedded.OpenWith(filepath.Join(dir, "cp.db"), embedded.Options{StageBatch: 16})
		require.NoError(t, err)
		return st
	}
	dirObjects, err := objstore.NewDir(filepath.Join(dir, "objects"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Stopped after 6 batches of 16: the consumers and their usernames
	// (80 writes) and the first key-auth credentials staged.
	objects := &stopping{savedProgress: &savedProgress{Store: dirObjects}, stopAt: 6, cancel: cancel}
	st := open(t)
	f := newFixture(objects, st, nil, dirPresigner{})
	id := f.started(t, doc).ID
	_, err = f.runner.Run(ctx, id, time.Time{})
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, st.Close())

	st = open(t)
	defer st.Close()
	r := imports.NewRunner(imports.RunnerOptions{Objects: dirObjects, Store: st})
	more, err := r.Run(context.Background(), id, time.Time{})
	require.NoError(t, err)
	require.False(t, more)
	job, err := f.jobs.Get(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, imports.StateSucceeded, job.State, job.Error)
	got, _, err := st.Export(context.Background())
	require.NoError(t, err)
	require.Len(t, got.KeyAuths, 40)
	for _, k := range got.KeyAuths {
		e, err := st.Get(context.Background(), model.KindKeyAuth, k.Key)
		require.NoError(t, err, "key-auth %s by its key", k.ID)
		require.Equal(t, k.ID, e.Meta().ID)
	}
}
