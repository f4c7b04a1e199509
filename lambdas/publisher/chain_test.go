package publisher_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

// configAt reads the configuration ptr names, as a data plane would: its
// full snapshot, verified, then every delta of its chain, verified and
// applied with its result's hash checked.
func configAt(t *testing.T, objects objstore.Store, ptr snapshot.Pointer, pub ed25519.PublicKey) *model.Config {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, ptr.Check())
	full := ptr.FullPointer()
	data, _, err := objects.Get(ctx, full.Key)
	require.NoError(t, err)
	doc, err := snapshot.Open(data, full, pub)
	require.NoError(t, err)
	cfg, rev := &doc.Config, full.Revision
	for _, ref := range ptr.Chain {
		dp := delta.Chained(ptr, ref)
		require.NoError(t, dp.Check())
		raw, _, err := objects.Get(ctx, dp.Key)
		require.NoError(t, err)
		d, err := delta.Open(raw, dp, pub)
		require.NoError(t, err)
		cfg, err = delta.Apply(cfg, rev, d)
		require.NoError(t, err)
		rev = d.Revision
	}
	require.Equal(t, ptr.Revision, rev)
	return cfg
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func numberedService(n int, host string) *model.Service {
	s := model.NewService()
	s.ID, s.Name, s.Host = fmt.Sprintf("00000000-0000-4000-a000-%012d", n), model.String(fmt.Sprintf("s%d", n)), host
	s.CreatedAt, s.UpdatedAt = 1795239000, 1795239000
	return s
}

// chainStore returns an embedded store, closed when the test ends.
func chainStore(t *testing.T) *embedded.Store {
	t.Helper()
	st := openStore(t, filepath.Join(t.TempDir(), "cp.db"))
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// createAndPublish creates service n in st and publishes with p.
func createAndPublish(t *testing.T, st store.Store, p *publisher.Publisher, n int) snapshot.Pointer {
	t.Helper()
	ctx := context.Background()
	_, err := st.Create(ctx, numberedService(n, "example.com"), store.Origin{RequestID: "test"})
	require.NoError(t, err)
	ptr, err := p.Publish(ctx)
	require.NoError(t, err)
	return ptr
}

// TestScheduledFullSnapshots: between full snapshots every FullEvery
// publications, a revision is published as a delta chained after the
// last full one; every pointer leads to the store's configuration, and
// the history rebuilds a chained revision.
func TestScheduledFullSnapshots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pubKey, priv := newKey(t)
	objects := newDir(t)
	st := chainStore(t)
	hist := history.New(objects, history.Retention{}, nil)
	p := publisher.New(publisher.Options{Source: st, Objects: objects, Key: priv, History: hist, FullEvery: 4, FullRatio: 100, Logger: quiet()})

	var fulls []int64
	for i := 1; i <= 9; i++ {
		ptr := createAndPublish(t, st, p, i)
		if ptr.Full == 0 {
			fulls = append(fulls, ptr.Revision)
		} else {
			require.Equal(t, fulls[len(fulls)-1], ptr.Full, "chained after the last full snapshot")
			require.Len(t, ptr.Chain, int(ptr.Revision-ptr.Full))
			require.Equal(t, ptr.Chain[len(ptr.Chain)-1].Base, ptr.Delta.Base, "the notice's delta is the chain's last")
			_, _, err := objects.Get(ctx, testIDOf(t, st).Key(ptr.Revision))
			require.ErrorIs(t, err, objstore.ErrNotFound, "no full snapshot between the scheduled ones")
		}
		exported, _, err := st.Export(ctx)
		require.NoError(t, err)
		require.Equal(t, snapshot.ConfigHash(exported), snapshot.ConfigHash(configAt(t, objects, ptr, pubKey)))
		hash, rev, ok, err := st.ConfigHash(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, ptr.Revision, rev)
		require.Equal(t, snapshot.ConfigHash(exported), hash, "the hash kept with the revision, from the digest updated per delta")
	}
	require.Equal(t, []int64{1, 5, 9}, fulls, "a full snapshot every 4 publications")

	// The history rebuilds a revision published as deltas only.
	id := testIDOf(t, st)
	cfg, err := hist.Config(ctx, id, 7)
	require.NoError(t, err)
	require.Len(t, cfg.Services, 7)

	// A delta object that is not the one the record names is refused
	// before it is decoded.
	other, _, err := objects.Get(ctx, snapshot.DeltaKey(id, 5, 6))
	require.NoError(t, err)
	_, err = objects.Put(ctx, snapshot.DeltaKey(id, 6, 7), other, objstore.Condition{})
	require.NoError(t, err)
	_, err = hist.Config(ctx, id, 7)
	require.ErrorIs(t, err, snapshot.ErrCorrupt)
	require.ErrorContains(t, err, "not the delta its record names")
}

func testIDOf(t *testing.T, st store.Store) snapshot.Identity {
	t.Helper()
	id, err := st.Identity(context.Background())
	require.NoError(t, err)
	return id.Identity
}

// TestFullWhenChainOutweighsIt: a chain heavier than FullRatio of its
// full snapshot is closed by a full snapshot.
func TestFullWhenChainOutweighsIt(t *testing.T) {
	t.Parallel()
	_, priv := newKey(t)
	objects := newDir(t)
	st := chainStore(t)
	p := publisher.New(publisher.Options{Source: st, Objects: objects, Key: priv, FullEvery: 30, FullRatio: 0.01, Logger: quiet()})
	for i := 1; i <= 3; i++ {
		ptr := createAndPublish(t, st, p, i)
		require.Zero(t, ptr.Full, "every delta outweighs 1%% of its full snapshot")
	}
}

// TestCompactionReplacesOldChain: once the chain's full snapshot is older
// than FullMaxAge, Reconcile seals a full snapshot of the revision
// latest.json names and drops the chain; a publication after it chains
// after that one.
func TestCompactionReplacesOldChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pubKey, priv := newKey(t)
	objects := newDir(t)
	st := chainStore(t)
	clk := &clock{now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	p := publisher.New(publisher.Options{Source: st, Objects: objects, Key: priv, FullMaxAge: time.Hour, FullRatio: 100,
		Clock: clk.Now, Logger: quiet()})
	for i := 1; i <= 3; i++ {
		createAndPublish(t, st, p, i)
	}
	chained := readLatest(t, objects)
	require.Equal(t, int64(1), chained.Full)
	require.NoError(t, p.Reconcile(ctx))
	require.True(t, readLatest(t, objects).Equal(chained), "a young chain stays")

	clk.advance(2 * time.Hour)
	require.NoError(t, p.Reconcile(ctx))
	full := readLatest(t, objects)
	require.Equal(t, chained.Revision, full.Revision)
	require.Zero(t, full.Full)
	require.Empty(t, full.Chain)
	require.Equal(t, snapshot.ConfigHash(configAt(t, objects, chained, pubKey)), snapshot.ConfigHash(configAt(t, objects, full, pubKey)))

	next := createAndPublish(t, st, p, 4)
	require.Equal(t, full.Revision, next.Full)
}

// TestDigestFollowsRandomWrites: after random chains of creations,
// updates and deletions, published with random pauses (so revisions
// coalesce), across scheduled full snapshots and a cold publisher that
// reads its base back from the full snapshot and chain, the hash the
// publisher keeps per delta equals a full recompute of the store's
// configuration, and every pointer leads to it.
func TestDigestFollowsRandomWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pubKey, priv := newKey(t)
	objects := newDir(t)
	st := chainStore(t)
	opts := publisher.Options{Source: st, Objects: objects, Key: priv, FullEvery: 5, FullRatio: 100, Logger: quiet()}
	p := publisher.New(opts)
	origin := store.Origin{RequestID: "test"}
	rng := rand.New(rand.NewPCG(15, 1))
	live := map[int]bool{}
	for step := range 120 {
		n := rng.IntN(12)
		switch {
		case live[n] && rng.IntN(3) == 0:
			_, err := st.Delete(ctx, model.KindService, numberedService(n, "").ID, store.AnyVersion, origin)
			require.NoError(t, err)
			delete(live, n)
		case live[n]:
			_, ver, err := st.GetVersioned(ctx, model.KindService, numberedService(n, "").ID)
			require.NoError(t, err)
			_, err = st.Update(ctx, numberedService(n, fmt.Sprintf("h%d.example.com", step)), ver, origin)
			require.NoError(t, err)
		default:
			_, err := st.Create(ctx, numberedService(n, "example.com"), origin)
			require.NoError(t, err)
			live[n] = true
		}
		if rng.IntN(3) != 0 {
			continue
		}
		if rng.IntN(10) == 0 {
			p = publisher.New(opts) // a cold start: the base is read back
		}
		ptr, err := p.Publish(ctx)
		require.NoError(t, err)
		exported, _, err := st.Export(ctx)
		require.NoError(t, err)
		want := snapshot.ConfigHash(exported)
		hash, rev, ok, err := st.ConfigHash(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, ptr.Revision, rev)
		require.Equal(t, want, hash, "step %d", step)
		require.Equal(t, want, snapshot.ConfigHash(configAt(t, objects, ptr, pubKey)), "step %d", step)
	}
}

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		every, ratio, age string
		n                 int
		r                 float64
		d                 time.Duration
		bad               bool
	}{
		{"", "", "", 0, 0, 0, false},
		{"8", "0.5", "1h", 8, 0.5, time.Hour, false},
		{"0", "", "", 0, 0, 0, true},
		{"18", "", "", 0, 0, 0, true},
		{"x", "", "", 0, 0, 0, true},
		{"", "-1", "", 0, 0, 0, true},
		{"", "NaN", "", 0, 0, 0, true},
		{"", "", "-1h", 0, 0, 0, true},
		{"", "", "soon", 0, 0, 0, true},
		{"", "", "23h", 0, 0, 23 * time.Hour, false},
		{"", "", "24h", 0, 0, 0, true},
	}
	for _, tt := range tests {
		n, r, d, err := publisher.ParseSchedule(tt.every, tt.ratio, tt.age)
		if tt.bad {
			require.Error(t, err, "%q %q %q", tt.every, tt.ratio, tt.age)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, []any{tt.n, tt.r, tt.d}, []any{n, r, d})
	}
}

// TestPruneKeepsWhatChainsNeed: pruning the history keeps a full
// snapshot, and the deltas after it, while a revision within the
// retention is rebuilt from them, and removes them once none is.
func TestPruneKeepsWhatChainsNeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, priv := newKey(t)
	objects := newDir(t)
	st := chainStore(t)
	hist := history.New(objects, history.Retention{Revisions: 2}, nil)
	p := publisher.New(publisher.Options{Source: st, Objects: objects, Key: priv, History: hist, PruneHistory: true,
		FullEvery: 4, FullRatio: 100, Logger: quiet()})
	for i := 1; i <= 9; i++ {
		createAndPublish(t, st, p, i)
	}
	// Fulls at 1, 5 and 9; revision 8, within the retention, is chained
	// after 5, whose record is past it.
	id := testIDOf(t, st)
	cfg, err := hist.Config(ctx, id, 8)
	require.NoError(t, err, "a retained chained revision is rebuilt after pruning")
	require.Len(t, cfg.Services, 8)
	_, _, err = objects.Get(ctx, id.Key(1))
	require.ErrorIs(t, err, objstore.ErrNotFound, "a full snapshot no chain needs is pruned")
	_, _, err = objects.Get(ctx, snapshot.DeltaKey(id, 1, 2))
	require.ErrorIs(t, err, objstore.ErrNotFound, "a delta no chain needs is pruned")
	_, err = hist.Get(ctx, id, 6, 9)
	require.ErrorIs(t, err, history.ErrExpired)

	// Once no retained revision chains after 5, it goes with its deltas.
	createAndPublish(t, st, p, 10)
	ptr := createAndPublish(t, st, p, 11)
	require.Equal(t, int64(9), ptr.Full)
	cfg, err = hist.Config(ctx, id, 10)
	require.NoError(t, err)
	require.Len(t, cfg.Services, 10)
	_, _, err = objects.Get(ctx, id.Key(5))
	require.ErrorIs(t, err, objstore.ErrNotFound)
	_, _, err = objects.Get(ctx, snapshot.DeltaKey(id, 7, 8))
	require.ErrorIs(t, err, objstore.ErrNotFound)
	_, _, err = objects.Get(ctx, snapshot.DeltaKey(id, 9, 10))
	require.NoError(t, err)
}

// TestColdReadBackAfterKeyRotation: a cold publisher whose key was rotated
// reads back its base (a full snapshot and a chain signed by the key
// before) by their digests, and publishes the next write as a delta on it
// rather than exporting the store.
func TestColdReadBackAfterKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	oldPub, oldKey := newKey(t)
	rotatedPub, rotated := newKey(t)
	objects := newDir(t)
	st := chainStore(t)
	opts := publisher.Options{Source: st, Objects: objects, Key: oldKey, FullRatio: 100, Logger: quiet()}
	p := publisher.New(opts)
	var ptr snapshot.Pointer
	for n := range 3 {
		ptr = createAndPublish(t, st, p, n)
	}
	require.Len(t, ptr.Chain, 2, "the base is a full snapshot and a chain")
	opts.Key = rotated
	ptr = createAndPublish(t, st, publisher.New(opts), 3)
	require.NotEmpty(t, ptr.Delta.Key, "published without a delta: the base was not read back")
	require.Len(t, ptr.Chain, 3)
	exported, _, err := st.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, snapshot.ConfigHash(exported), snapshot.ConfigHash(configAt(t, objects, ptr, snapshot.KeyRing(oldPub, rotatedPub))))
}

// faultyPuts records the order of a store's puts and fails those fail
// matches (a crash at that point, as far as object storage can tell).
type faultyPuts struct {
	objstore.Store
	mu   sync.Mutex
	puts []string // key, and for latest.json the revision and full it names
	fail func(key string, ptr snapshot.Pointer) bool
}

func (f *faultyPuts) Put(ctx context.Context, key string, data []byte, cond objstore.Condition) (string, error) {
	var ptr snapshot.Pointer
	name := key
	if key == snapshot.LatestKey {
		if err := json.Unmarshal(data, &ptr); err != nil {
			return "", err
		}
		name = fmt.Sprintf("%s %d full %d", key, ptr.Revision, ptr.Full)
	}
	f.mu.Lock()
	f.puts = append(f.puts, name)
	fail := f.fail != nil && f.fail(key, ptr)
	f.mu.Unlock()
	if fail {
		return "", errors.New("injected failure")
	}
	return f.Store.Put(ctx, key, data, cond)
}

func (f *faultyPuts) failing(fn func(key string, ptr snapshot.Pointer) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.puts = fn, nil
}

// TestScheduledFullAfterItsDelta: the revision that the schedule seals
// whole is served as its delta first (latest.json moves to the chain
// before the full snapshot is written), then moved to its full snapshot;
// a failure between the two (the full snapshot's write, or latest.json's
// second move) leaves latest.json naming a valid chain that leads to the
// store's configuration, the history rebuilding the revision, and the
// next publication sealing the full snapshot still due.
func TestScheduledFullAfterItsDelta(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail func(id snapshot.Identity) func(key string, ptr snapshot.Pointer) bool
	}{
		{"nothing fails", func(snapshot.Identity) func(string, snapshot.Pointer) bool { return nil }},
		{"the full snapshot's write fails", func(id snapshot.Identity) func(string, snapshot.Pointer) bool {
			return func(key string, _ snapshot.Pointer) bool { return key == id.Key(5) }
		}},
		{"latest.json's move to the full snapshot fails", func(snapshot.Identity) func(string, snapshot.Pointer) bool {
			return func(key string, ptr snapshot.Pointer) bool {
				return key == snapshot.LatestKey && ptr.Revision == 5 && ptr.Full == 0
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pubKey, priv := newKey(t)
			objects := &faultyPuts{Store: newDir(t)}
			st := chainStore(t)
			hist := history.New(objects, history.Retention{}, nil)
			p := publisher.New(publisher.Options{Source: st, Objects: objects, Key: priv, History: hist,
				FullEvery: 4, FullRatio: 100, Logger: quiet()})
			for i := 1; i <= 4; i++ {
				createAndPublish(t, st, p, i)
			}
			id := testIDOf(t, st)
			fail := tt.fail(id)
			objects.failing(fail)
			ptr := createAndPublish(t, st, p, 5)

			objects.mu.Lock()
			puts := slices.Clone(objects.puts)
			objects.mu.Unlock()
			served := slices.Index(puts, snapshot.LatestKey+" 5 full 1")
			sealed := slices.Index(puts, id.Key(5))
			require.NotEqual(t, -1, served, "revision 5 is served as its delta: %v", puts)
			require.Greater(t, sealed, served, "its full snapshot is written after: %v", puts)

			latest := readLatest(t, objects)
			require.Equal(t, latest, ptr)
			require.Equal(t, int64(5), latest.Revision)
			exported, _, err := st.Export(ctx)
			require.NoError(t, err)
			require.Equal(t, snapshot.ConfigHash(exported), snapshot.ConfigHash(configAt(t, objects, latest, pubKey)))
			cfg, err := hist.Config(ctx, id, 5)
			require.NoError(t, err)
			require.Equal(t, snapshot.ConfigHash(exported), snapshot.ConfigHash(cfg))
			if fail == nil {
				require.Zero(t, latest.Full, "sealed whole")
				require.Equal(t, id.Key(5), latest.Key)
				require.Equal(t, snapshot.DeltaKey(id, 4, 5), latest.Delta.Key, "the notice's delta is kept")
				rec, err := hist.Get(ctx, id, 5, 5)
				require.NoError(t, err)
				require.Zero(t, rec.Full, "the record names the revision's own full snapshot")
				return
			}
			require.Equal(t, int64(1), latest.Full, "still chained after the last full snapshot")
			require.Len(t, latest.Chain, 4)

			// The next publication seals the full snapshot still due.
			objects.failing(nil)
			ptr = createAndPublish(t, st, p, 6)
			require.Zero(t, ptr.Full)
			require.Equal(t, id.Key(6), ptr.Key)
			exported, _, err = st.Export(ctx)
			require.NoError(t, err)
			require.Equal(t, snapshot.ConfigHash(exported), snapshot.ConfigHash(configAt(t, objects, readLatest(t, objects), pubKey)))
		})
	}
}

// recordGone is a store where the history record at key is removed (as a
// concurrent Prune would) right after it is first read.
type recordGone struct {
	objstore.Store
	key  string
	once sync.Once
}

func (r *recordGone) Get(ctx context.Context, key string) ([]byte, string, error) {
	data, etag, err := r.Store.Get(ctx, key)
	if key == r.key && err == nil {
		r.once.Do(func() { err = r.Store.Delete(ctx, key) })
	}
	return data, etag, err
}

func (r *recordGone) GetMax(ctx context.Context, key string, max int64) ([]byte, string, error) {
	data, etag, err := objstore.GetMax(ctx, r.Store, key, max)
	if key == r.key && err == nil {
		r.once.Do(func() { err = r.Store.Delete(ctx, key) })
	}
	return data, etag, err
}

// TestScheduledFullRecordConditional: the history record rewritten once
// a revision's full snapshot is sealed is written only over the record
// read; one removed meanwhile (a concurrent Prune) is not written back.
func TestScheduledFullRecordConditional(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, priv := newKey(t)
	st := chainStore(t)
	id := testIDOf(t, st)
	objects := &recordGone{Store: newDir(t), key: history.Key(id, 5)}
	hist := history.New(objects, history.Retention{}, nil)
	p := publisher.New(publisher.Options{Source: st, Objects: objects, Key: priv, History: hist,
		FullEvery: 4, FullRatio: 100, Logger: quiet()})
	for i := 1; i <= 5; i++ {
		createAndPublish(t, st, p, i)
	}
	latest := readLatest(t, objects)
	require.Equal(t, int64(5), latest.Revision)
	require.Zero(t, latest.Full, "sealed whole")
	_, _, err := objects.Store.Get(ctx, history.Key(id, 5))
	require.ErrorIs(t, err, objstore.ErrNotFound, "the record removed meanwhile is not written back")
}

// wholeRefuses is a ChangeValidator that accepts every change but whose
// whole compile refuses a configuration holding service refused.
type wholeRefuses struct{ refused string }

func (w wholeRefuses) Check(_ context.Context, cfg *model.Config) error {
	for _, s := range cfg.Services {
		if s.ID == w.refused {
			return errors.New("refused whole")
		}
	}
	return nil
}

func (wholeRefuses) CheckChange(context.Context, *model.Config, *model.Config, *model.Config, map[model.Kind][]string) error {
	return nil
}

// TestScheduledFullRefusedWhole: a revision served as its delta first
// whose whole compile refuses it is not sealed: latest.json keeps the
// chain, no full snapshot of it is written, and its history record names
// the chain.
func TestScheduledFullRefusedWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, priv := newKey(t)
	objects := newDir(t)
	st := chainStore(t)
	hist := history.New(objects, history.Retention{}, nil)
	p := publisher.New(publisher.Options{Source: st, Objects: objects, Key: priv, History: hist,
		Validator: wholeRefuses{refused: numberedService(5, "").ID}, FullEvery: 4, FullRatio: 100, Logger: quiet()})
	for i := 1; i <= 5; i++ {
		createAndPublish(t, st, p, i)
	}
	id := testIDOf(t, st)
	latest := readLatest(t, objects)
	require.Equal(t, int64(5), latest.Revision)
	require.Equal(t, int64(1), latest.Full, "still chained")
	require.Len(t, latest.Chain, 4)
	_, _, err := objects.Get(ctx, id.Key(5))
	require.ErrorIs(t, err, objstore.ErrNotFound, "no full snapshot sealed")
	rec, err := hist.Get(ctx, id, 5, 5)
	require.NoError(t, err)
	require.Equal(t, int64(1), rec.Full, "the record names the chain")
}
