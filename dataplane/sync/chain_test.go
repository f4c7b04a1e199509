package sync_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"path/filepath"
	stdsync "sync"
	"testing"

	"github.com/stretchr/testify/require"

	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// putChain publishes the last of revs as the publisher does between full
// snapshots: the full snapshot of full (whose configuration p holds) and
// the deltas from it through revs, whose configurations are cfgs; edit,
// when set, changes the delta to revision at before it is sealed. It
// returns the pointer (latest.json) and its notice.
func (p *published) putChain(t *testing.T, full int64, revs []int64, cfgs []*model.Config, at int64, edit func(*delta.Document)) (snapshot.Pointer, protocol.ConfigNotice) {
	t.Helper()
	ctx := context.Background()
	data, ptr, err := snapshot.Seal(&snapshot.Document{Revision: full, Config: *p.cfgs[full].Clone()}, p.priv, fixedTime)
	require.NoError(t, err)
	_, err = p.store.Put(ctx, ptr.Key, data, objstore.Condition{})
	require.NoError(t, err)
	ptr.Full, ptr.FullAt = full, ptr.PublishedAt
	base := full
	for i, rev := range revs {
		p.cfgs[rev] = cfgs[i]
		doc, err := delta.Diff(snapshot.Identity{}, base, p.cfgs[base], rev, cfgs[i])
		require.NoError(t, err)
		if edit != nil && rev == at {
			edit(doc)
		}
		ddata, dptr, err := delta.Seal(doc, p.priv, fixedTime)
		require.NoError(t, err)
		_, err = p.store.Put(ctx, dptr.Key, ddata, objstore.Condition{})
		require.NoError(t, err)
		ptr.Chain = append(ptr.Chain, dptr.Ref())
		base = rev
	}
	ptr.Revision = base
	require.NoError(t, ptr.Check())
	n := notice(ptr)
	n.Full = full
	for _, d := range ptr.Chain {
		n.Chain = append(n.Chain, protocol.DeltaNotice{Base: d.Base, Revision: d.Revision, Key: d.Key, SHA256: d.SHA256,
			Size: d.Size, Signature: d.Signature, Format: d.Format})
	}
	return ptr, n
}

// putLatest writes ptr as latest.json.
func (p *published) putLatest(t *testing.T, ptr snapshot.Pointer) {
	t.Helper()
	raw, err := json.Marshal(ptr)
	require.NoError(t, err)
	_, err = p.store.Put(context.Background(), snapshot.LatestKey, raw, objstore.Condition{})
	require.NoError(t, err)
}

// TestChainAcrossNewFull: a data plane offline across a new full
// snapshot (it runs revision 2, the pointer chains 5 and 6 after the full
// snapshot of 4) reaches revision 6 from the full snapshot and the chain;
// one running a revision of the chain applies only the rest of it.
func TestChainAcrossNewFull(t *testing.T) {
	t.Parallel()
	cacheDir := t.TempDir()
	var pub ed25519.PublicKey
	c, a, p, send, _ := deltaClient(t, func(cfg *dpsync.Config) { pub, cfg.Cache = cfg.VerifyKey, cache.New(cacheDir, cfg.VerifyKey) })
	send(p.put(t, 0, 2, services("a.local", "b.local"), nil))
	runs(t, a, 2, p.cfgs[2])

	p.put(t, 2, 4, services("a.local", "b.local", "c.local"), nil) // the new full snapshot, never announced
	_, n := p.putChain(t, 4, []int64{5, 6}, []*model.Config{services("a.local", "", "c.local"), services("a2.local", "", "c.local", "d.local")}, 0, nil)
	send(n)
	runs(t, a, 6, p.cfgs[6])

	_, n = p.putChain(t, 4, []int64{5, 6, 8}, []*model.Config{p.cfgs[5], p.cfgs[6], services("a3.local", "", "c.local")}, 0, nil)
	n.Delta = nil // no live delta: the chain's rest from the running revision
	send(n)
	runs(t, a, 8, p.cfgs[8])
	require.Zero(t, c.SyncState().DeltaFallbacks)

	// The cache holds the last revision (written after the apply): the
	// full snapshot and the chain.
	require.Eventually(t, func() bool {
		m, err := cache.New(cacheDir, pub).Mark()
		return err == nil && m.Revision == 8
	}, waitFor, tick)
	doc, ptr, err := cache.New(cacheDir, pub).Load()
	require.NoError(t, err)
	require.Equal(t, int64(4), ptr.Revision)
	require.Equal(t, snapshot.ConfigHash(p.cfgs[4]), snapshot.ConfigHash(&doc.Config))
	docs, err := cache.New(cacheDir, pub).Deltas(ptr)
	require.NoError(t, err)
	require.Len(t, docs, 3)
	require.Equal(t, int64(8), docs[2].Revision)
}

// TestChainRefused: a chain with a delta missing, or whose result hash is
// not the control plane's, is not applied (from the running revision nor
// from the full snapshot): the data plane stays on what it runs, and a
// later sound pointer is applied.
func TestChainRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spoil func(t *testing.T, p *published, ptr snapshot.Pointer)
		edit  func(*delta.Document)
	}{
		{"delta missing", func(t *testing.T, p *published, ptr snapshot.Pointer) {
			require.NoError(t, p.store.Delete(context.Background(), ptr.Chain[1].Key))
		}, nil},
		{"result hash mismatch", nil, func(d *delta.Document) { d.ConfigHash = snapshot.ConfigHash(services("x.local")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, a, p, send, _ := deltaClient(t)
			send(p.put(t, 0, 1, services("a.local"), nil))
			runs(t, a, 1, p.cfgs[1])
			ptr, n := p.putChain(t, 1, []int64{2, 3}, []*model.Config{services("a.local", "b.local"), services("a.local", "b.local", "c.local")}, 3, tt.edit)
			if tt.spoil != nil {
				tt.spoil(t, p, ptr)
			}
			send(n)
			require.Eventually(t, func() bool { calls, _ := a.applied(); return len(calls) == 1 && a.revision() == 1 }, waitFor, tick)
			// A later revision, chained soundly after a full snapshot.
			p.put(t, 1, 4, services("d.local"), nil)
			_, n = p.putChain(t, 4, []int64{5}, []*model.Config{services("d.local", "e.local")}, 0, nil)
			send(n)
			runs(t, a, 5, p.cfgs[5])
		})
	}
}

// TestChainFromFallback: with the control plane down, the fallback poller
// boots a data plane from the full snapshot and chain latest.json names,
// then follows the chain as it grows.
func TestChainFromFallback(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	p := &published{store: store, priv: priv, cfgs: map[int64]*model.Config{}}
	p.put(t, 0, 3, services("a.local"), nil)
	ptr, _ := p.putChain(t, 3, []int64{4, 5}, []*model.Config{services("a.local", "b.local"), services("b.local", "c.local")}, 0, nil)
	p.putLatest(t, ptr)

	cfg := testConfig(t, pub)
	cfg.CPURL = closedURL(t)
	cfg.Fallback = store
	cfg.Cache = cache.New(filepath.Join(t.TempDir(), "cache"), pub)
	a := &fakeApplier{}
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)
	runs(t, a, 5, p.cfgs[5])

	ptr, _ = p.putChain(t, 3, []int64{4, 5, 7}, []*model.Config{p.cfgs[4], p.cfgs[5], services("c.local")}, 0, nil)
	ptr.Delta = ptr.Chain[2]
	ptr.Delta.Revision = 0
	p.putLatest(t, ptr)
	runs(t, a, 7, p.cfgs[7])
	require.Equal(t, dpsync.SourceDelta, c.SyncState().Source, "the pointer's own delta from the running revision")
	calls, _ := a.applied()
	require.Equal(t, []int64{5, 7}, calls)

	// A restart with nothing reachable boots revision 7 from the cache:
	// the full snapshot of 3 and the chain to 7.
	require.Eventually(t, func() bool { m, err := cfg.Cache.Mark(); return err == nil && m.Revision == 7 }, waitFor, tick)
	cfg.Fallback = dirStore(t)
	b := &fakeApplier{}
	c2, err := dpsync.New(cfg, b)
	require.NoError(t, err)
	run(t, c2)
	runs(t, b, 7, p.cfgs[7])
	require.Equal(t, dpsync.SourceCache, c2.SyncState().Source)
}

// failOnce is an object store whose next read of a key set with fail
// fails once.
type failOnce struct {
	objstore.Store
	mu   stdsync.Mutex
	keys map[string]bool
}

func (f *failOnce) fail(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[key] = true
}

func (f *failOnce) Get(ctx context.Context, key string) ([]byte, string, error) {
	f.mu.Lock()
	failing := f.keys[key]
	delete(f.keys, key)
	f.mu.Unlock()
	if failing {
		return nil, "", errors.New("connection reset")
	}
	return f.Store.Get(ctx, key)
}

// TestChainCachedFromOlderFull: a data plane running a revision of a
// chain whose rest it cannot apply from there (a delta's read failed)
// reaches the new revision from the full snapshot, older than the
// cache's mark, and the whole chain; the cache then holds them, its mark
// at the new revision.
func TestChainCachedFromOlderFull(t *testing.T) {
	t.Parallel()
	cacheDir := t.TempDir()
	var pub ed25519.PublicKey
	var store *failOnce
	c, a, p, send, _ := deltaClient(t, func(cfg *dpsync.Config) {
		pub, cfg.Cache = cfg.VerifyKey, cache.New(cacheDir, cfg.VerifyKey)
		store = &failOnce{Store: cfg.Fallback, keys: map[string]bool{}}
		cfg.Fallback = store
	})
	send(p.put(t, 0, 1, services("a.local"), nil))
	runs(t, a, 1, p.cfgs[1])
	_, n := p.putChain(t, 1, []int64{2, 3}, []*model.Config{services("a.local", "b.local"), services("a.local", "b.local", "c.local")}, 0, nil)
	send(n)
	runs(t, a, 3, p.cfgs[3])
	mark := func() int64 {
		m, err := cache.New(cacheDir, pub).Mark()
		require.NoError(t, err)
		return m.Revision
	}
	require.Eventually(t, func() bool { return mark() == 3 }, waitFor, tick)

	ptr, n := p.putChain(t, 1, []int64{2, 3, 4}, []*model.Config{p.cfgs[2], p.cfgs[3], services("d.local", "b.local", "c.local")}, 0, nil)
	n.Delta = nil
	store.fail(ptr.Chain[2].Key)
	send(n)
	runs(t, a, 4, p.cfgs[4])
	require.Eventually(t, func() bool { return mark() == 4 }, waitFor, tick, "the cache holds the revision run")
	require.Empty(t, c.SyncState().CacheError)
	doc, cached, err := cache.New(cacheDir, pub).Load()
	require.NoError(t, err)
	require.Equal(t, int64(1), cached.Revision)
	docs, err := cache.New(cacheDir, pub).Deltas(cached)
	require.NoError(t, err)
	cfg, rev := &doc.Config, cached.Revision
	for _, d := range docs {
		cfg, err = delta.Apply(cfg, rev, d)
		require.NoError(t, err)
		rev = d.Revision
	}
	require.Equal(t, int64(4), rev)
	require.Equal(t, snapshot.ConfigHash(p.cfgs[4]), snapshot.ConfigHash(cfg))
}
