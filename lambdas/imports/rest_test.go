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

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/imports"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

// memStager stages generations in memory and commits one with the
// store's ReplaceAll: a Stager (the DynamoDB store's interface) without
// the emulator. It refuses an entity staged twice in a generation.
type memStager struct {
	st *embedded.Store
	mu sync.Mutex
	// staged holds each generation's entities by kind and id.
	staged map[string]map[string]model.Entity
}

func newMemStager(st *embedded.Store) *memStager {
	return &memStager{st: st, staged: map[string]map[string]model.Entity{}}
}

func (s *memStager) Stage(_ context.Context, gen string, es []model.Entity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.staged[gen]
	if g == nil {
		g = map[string]model.Entity{}
		s.staged[gen] = g
	}
	for _, e := range es {
		k := string(e.Kind()) + "/" + e.Meta().ID
		if _, dup := g[k]; dup {
			return fmt.Errorf("%s staged twice", k)
		}
		g[k] = e
	}
	return nil
}

func (s *memStager) CommitStaged(ctx context.Context, gen string, _ []string, o store.Origin) (int64, string, error) {
	s.mu.Lock()
	cfg := &model.Config{}
	for _, e := range s.staged[gen] {
		cfg.Add(e)
	}
	s.mu.Unlock()
	rev, err := s.st.ReplaceAll(ctx, cfg, o)
	return rev, "", err
}

func (s *memStager) DropStaged(_ context.Context, gen string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.staged, gen)
}

// restKeys lists the parts of a job's rest in the object store.
func restKeys(t *testing.T, objects objstore.Store, id string) []string {
	t.Helper()
	keys, err := objects.List(context.Background(), "imports/"+id+"/rest/")
	require.NoError(t, err)
	return keys
}

// TestContinuationStagesFromTheKeptRest: an invocation that runs out of
// time keeps the entities it has not staged, parsed, in parts; the next
// invocations stage from them without reading the upload (removed here
// after the first one), and the configuration becomes visible at once
// at the end. A part that changed fails the job with nothing visible,
// and a retry succeeds.
func TestContinuationStagesFromTheKeptRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	objects, err := objstore.NewDir(filepath.Join(dir, "objects"))
	require.NoError(t, err)
	st, err := embedded.Open(filepath.Join(dir, "cp.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	_, err = st.ReplaceAll(ctx, mustConfig(t, kongYML(3)), store.Origin{})
	require.NoError(t, err)
	old, before, err := st.Export(ctx)
	require.NoError(t, err)

	stager := newMemStager(st)
	f := newFixture(objects, st, stager, dirPresigner{})
	clock := &stepClock{now: time.Now()}
	runner := imports.NewRunner(imports.RunnerOptions{Objects: objects, Store: st, Stager: stager, Batch: 10, PartSize: 25, Now: clock.Now})
	// run is one invocation: it stops once three minutes of the clock
	// (three reads) have passed.
	run := func(id string) bool {
		t.Helper()
		clock.mu.Lock()
		stopAt := clock.now.Add(3 * time.Minute)
		clock.mu.Unlock()
		more, err := runner.Run(ctx, id, stopAt)
		require.NoError(t, err)
		return more
	}
	runOut := func(id string) {
		t.Helper()
		for n := 0; run(id); n++ {
			require.Less(t, n, 100, "the job does not end")
		}
	}
	visibleUnchanged := func() {
		t.Helper()
		cur, rev, err := st.Export(ctx)
		require.NoError(t, err)
		require.Equal(t, before, rev, "nothing is visible before the last batch")
		require.Equal(t, old, cur)
	}

	job := f.started(t, kongYML(40)) // 80 entities, batches of 10, parts of 25
	require.True(t, run(job.ID), "the first invocation hands the job on")
	job, err = f.jobs.Get(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, imports.StateRunning, job.State)
	require.Equal(t, 80, job.Total)
	require.Positive(t, job.Written)
	require.Less(t, job.Written, 80)
	left := 80 - job.Written
	require.Len(t, restKeys(t, objects, job.ID), (left+24)/25, "the rest is kept in parts of 25")
	visibleUnchanged()

	// Without the upload, only the kept rest can finish the job.
	require.NoError(t, objects.Delete(ctx, imports.UploadKey(job.ID)))
	invocations := 1
	for more := true; more; invocations++ {
		more = run(job.ID)
		if more {
			visibleUnchanged()
		}
	}
	require.Greater(t, invocations, 3, "the rest took several invocations")
	job, err = f.jobs.Get(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, imports.StateSucceeded, job.State, job.Error)
	require.Equal(t, 80, job.Written)
	cfg, rev, err := st.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, job.Revision, rev)
	require.Equal(t, before+1, rev)
	require.Len(t, cfg.Services, 40)
	require.Len(t, cfg.Routes, 40)
	require.Empty(t, restKeys(t, objects, job.ID), "the parts are removed with the upload")

	// A part changed under a job: it fails, nothing visible, and a
	// retry (which parses the upload again) succeeds.
	old, before = cfg, rev
	job = f.started(t, kongYML(20))
	require.True(t, run(job.ID))
	keys := restKeys(t, objects, job.ID)
	require.NotEmpty(t, keys)
	last := keys[len(keys)-1]
	data, _, err := objects.Get(ctx, last)
	require.NoError(t, err)
	data[len(data)/2] ^= 0xff
	_, err = objects.Put(ctx, last, data, objstore.Condition{})
	require.NoError(t, err)
	runOut(job.ID)
	job, err = f.jobs.Get(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, imports.StateFailed, job.State)
	require.True(t, strings.Contains(job.Error, "not the one recorded"), job.Error)
	visibleUnchanged()
	require.Empty(t, restKeys(t, objects, job.ID), "the parts are removed with the failure")
	job, err = f.jobs.Start(ctx, job.ID, store.Origin{})
	require.NoError(t, err)
	runOut(job.ID)
	job, err = f.jobs.Get(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, imports.StateSucceeded, job.State, job.Error)
	cfg, _, err = st.Export(ctx)
	require.NoError(t, err)
	require.Len(t, cfg.Services, 20)
}

// hookStager is a memStager whose Stage calls hook first and fails with
// its error.
type hookStager struct {
	*memStager
	hook func() error
}

func (s *hookStager) Stage(ctx context.Context, gen string, es []model.Entity) error {
	if s.hook != nil {
		if err := s.hook(); err != nil {
			return err
		}
	}
	return s.memStager.Stage(ctx, gen, es)
}

// TestLosingRunnerLeavesTheJobAlone: a runner whose stage fails after
// another runner of the job recorded progress does not own the job any
// more: its failure is not recorded (ErrBusy), and it drops neither the
// staged generation nor the kept rest, which the other runner finishes.
func TestLosingRunnerLeavesTheJobAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	objects, err := objstore.NewDir(filepath.Join(dir, "objects"))
	require.NoError(t, err)
	st, err := embedded.Open(filepath.Join(dir, "cp.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })

	stager := &hookStager{memStager: newMemStager(st)}
	f := newFixture(objects, st, stager, dirPresigner{})
	clock := &stepClock{now: time.Now()}
	runner := imports.NewRunner(imports.RunnerOptions{Objects: objects, Store: st, Stager: stager, Batch: 10, PartSize: 25, Now: clock.Now})
	stopAt := func() time.Time {
		clock.mu.Lock()
		defer clock.mu.Unlock()
		return clock.now.Add(3 * time.Minute)
	}

	job := f.started(t, kongYML(40)) // 80 entities
	more, err := runner.Run(ctx, job.ID, stopAt())
	require.NoError(t, err)
	require.True(t, more, "the first invocation hands the job on")
	kept := restKeys(t, objects, job.ID)
	require.NotEmpty(t, kept)

	// Another runner records its progress while this one stages, and
	// this one's stage then fails.
	stager.hook = func() error {
		stager.hook = nil
		key := "imports/" + job.ID + "/job.json"
		data, _, err := objects.Get(ctx, key)
		require.NoError(t, err)
		var rec map[string]any
		require.NoError(t, json.Unmarshal(data, &rec))
		rec["updated_at"] = rec["updated_at"].(float64) + 1
		data, err = json.Marshal(rec)
		require.NoError(t, err)
		_, err = objects.Put(ctx, key, data, objstore.Condition{})
		require.NoError(t, err)
		return errors.New("throttled")
	}
	_, err = runner.Run(ctx, job.ID, stopAt())
	require.ErrorIs(t, err, imports.ErrBusy)
	require.Equal(t, kept, restKeys(t, objects, job.ID), "the kept rest is the other runner's")
	job, err = f.jobs.Get(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, imports.StateRunning, job.State)

	for n := 0; ; n++ {
		require.Less(t, n, 100, "the job does not end")
		more, err := runner.Run(ctx, job.ID, stopAt())
		require.NoError(t, err)
		if !more {
			break
		}
	}
	job, err = f.jobs.Get(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, imports.StateSucceeded, job.State, job.Error)
	cfg, _, err := st.Export(ctx)
	require.NoError(t, err)
	require.Len(t, cfg.Services, 40)
}
