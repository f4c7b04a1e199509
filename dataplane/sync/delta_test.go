package sync_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// services is a configuration of one service per host, ids by position.
func services(hosts ...string) *model.Config {
	cfg := &model.Config{}
	for i, h := range hosts {
		if h == "" {
			continue
		}
		name := fmt.Sprintf("svc-%d", i)
		cfg.Add(&model.Service{Base: model.Base{ID: fmt.Sprintf("00000000-0000-4000-a000-%012d", i+1)},
			Name: &name, Host: h, Protocol: "http", Port: 80})
	}
	return cfg
}

// published is a revision written as the publisher writes it: its full
// snapshot and, from a base, its delta.
type published struct {
	store objstore.Store
	priv  ed25519.PrivateKey
	cfgs  map[int64]*model.Config
}

// put writes revision rev's snapshot and, when base > 0, the delta from
// base (edit, when set, changes it before it is sealed); it returns the
// notice the publisher would send.
func (p *published) put(t *testing.T, base, rev int64, cfg *model.Config, edit func(*delta.Document)) protocol.ConfigNotice {
	t.Helper()
	ctx := context.Background()
	p.cfgs[rev] = cfg
	data, ptr, err := snapshot.Seal(&snapshot.Document{Revision: rev, Config: *cfg.Clone()}, p.priv, fixedTime)
	require.NoError(t, err)
	_, err = p.store.Put(ctx, ptr.Key, data, objstore.Condition{})
	require.NoError(t, err)
	n := notice(ptr)
	if base == 0 {
		return n
	}
	doc, err := delta.Diff(snapshot.Identity{}, base, p.cfgs[base], rev, cfg)
	require.NoError(t, err)
	if edit != nil {
		edit(doc)
	}
	ddata, dptr, err := delta.Seal(doc, p.priv, fixedTime)
	require.NoError(t, err)
	_, err = p.store.Put(ctx, dptr.Key, ddata, objstore.Condition{})
	require.NoError(t, err)
	n.Delta = &protocol.DeltaNotice{Base: base, Revision: rev, Key: dptr.Key, SHA256: dptr.SHA256,
		Size: dptr.Size, Signature: dptr.Signature, Format: dptr.Format}
	return n
}

// deltaClient is a client reading objects from a directory, connected to
// a fake control plane, and the connection the control plane holds.
func deltaClient(t *testing.T, opts ...func(*dpsync.Config)) (*dpsync.Client, *fakeApplier, *published, func(protocol.ConfigNotice), *fakeCP) {
	t.Helper()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	cp := newFakeCP(t)
	cfg := testConfig(t, pub)
	cfg.CPURL, cfg.Fallback = cp.url(), store
	for _, o := range opts {
		o(&cfg)
	}
	a := &fakeApplier{}
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)
	conn := cp.accept(t)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)
	return c, a, &published{store: store, priv: priv, cfgs: map[int64]*model.Config{}},
		func(n protocol.ConfigNotice) { send(t, conn, n) }, cp
}

// runs waits until the applier runs rev with cfg's hash.
func runs(t *testing.T, a *fakeApplier, rev int64, cfg *model.Config) {
	t.Helper()
	want := snapshot.ConfigHash(cfg)
	require.Eventually(t, func() bool {
		r, h := a.Current()
		return r == rev && h == want
	}, waitFor, tick, "revision %d with hash %s", rev, want)
}

func TestDeltaChain(t *testing.T) {
	t.Parallel()
	c, a, p, send, _ := deltaClient(t)

	send(p.put(t, 0, 1, services("a.local", "b.local"), nil))
	runs(t, a, 1, p.cfgs[1])
	// Revisions 2 and 3 coalesced into one delta, then revision 4.
	send(p.put(t, 1, 3, services("a.local", "", "c.local"), nil))
	runs(t, a, 3, p.cfgs[3])
	send(p.put(t, 3, 4, services("a2.local", "", "c.local", "d.local"), nil))
	runs(t, a, 4, p.cfgs[4])

	_, sources := a.applied()
	require.Equal(t, []string{dpsync.SourceCP, dpsync.SourceDelta, dpsync.SourceDelta}, sources)
	st := c.SyncState()
	require.Equal(t, dpsync.SourceDelta, st.Source)
	require.Equal(t, int64(2), st.Deltas)
	require.Zero(t, st.DeltaFallbacks)
}

func TestDeltaFallsBackToSnapshot(t *testing.T) {
	t.Parallel()
	_, otherPriv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	tests := []struct {
		name string
		// notice is revision 3's, the client running revision 2.
		notice func(t *testing.T, p *published) protocol.ConfigNotice
	}{
		{"gap: base not running", func(t *testing.T, p *published) protocol.ConfigNotice {
			return p.put(t, 1, 3, services("a.local", "c.local"), nil)
		}},
		{"delta missing", func(t *testing.T, p *published) protocol.ConfigNotice {
			n := p.put(t, 2, 3, services("a.local", "c.local"), nil)
			require.NoError(t, p.store.Delete(context.Background(), n.Delta.Key))
			return n
		}},
		{"result hash mismatch", func(t *testing.T, p *published) protocol.ConfigNotice {
			return p.put(t, 2, 3, services("a.local", "c.local"), func(d *delta.Document) {
				s := *d.Upserts.Services[0]
				s.Host = "elsewhere.local"
				d.Upserts.Services[0] = &s
			})
		}},
		{"signed by another key", func(t *testing.T, p *published) protocol.ConfigNotice {
			n := p.put(t, 2, 3, services("a.local", "c.local"), nil)
			doc, err := delta.Diff(snapshot.Identity{}, 2, p.cfgs[2], 3, p.cfgs[3])
			require.NoError(t, err)
			data, dptr, err := delta.Seal(doc, otherPriv, fixedTime)
			require.NoError(t, err)
			_, err = p.store.Put(context.Background(), dptr.Key, data, objstore.Condition{})
			require.NoError(t, err)
			n.Delta.SHA256, n.Delta.Size, n.Delta.Signature = dptr.SHA256, dptr.Size, dptr.Signature
			return n
		}},
		{"target is not the notice's revision", func(t *testing.T, p *published) protocol.ConfigNotice {
			n := p.put(t, 2, 3, services("a.local", "c.local"), nil)
			n.Delta.Revision = 4
			return n
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, a, p, send, _ := deltaClient(t)
			send(p.put(t, 0, 1, services("a.local"), nil))
			runs(t, a, 1, p.cfgs[1])
			send(p.put(t, 1, 2, services("a.local", "b.local"), nil))
			runs(t, a, 2, p.cfgs[2])

			send(tt.notice(t, p))
			runs(t, a, 3, p.cfgs[3])
			_, sources := a.applied()
			require.Equal(t, []string{dpsync.SourceCP, dpsync.SourceDelta, dpsync.SourceCP}, sources,
				"the full snapshot was applied, never the delta's result")
			st := c.SyncState()
			require.Equal(t, int64(1), st.Deltas)
			require.Equal(t, int64(1), st.DeltaFallbacks)
			require.Empty(t, st.LastError)
		})
	}
}

// A delta offered before anything runs is not applicable: the snapshot is.
func TestDeltaWithNothingRunning(t *testing.T) {
	t.Parallel()
	_, a, p, send, _ := deltaClient(t)
	p.cfgs[1] = services("a.local")
	send(p.put(t, 1, 2, services("a.local", "b.local"), nil))
	runs(t, a, 2, p.cfgs[2])
	_, sources := a.applied()
	require.Equal(t, []string{dpsync.SourceCP}, sources)
}

// TestDeltasCached: the deltas applied are cached after the snapshot, and
// a restarted data plane with no control plane boots the revision they
// reach; past the chain's bound, the full snapshot of the running
// revision is cached instead.
func TestDeltasCached(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	cacheDir := t.TempDir()
	cp := newFakeCP(t)
	cfg := testConfig(t, pub)
	cfg.CPURL, cfg.Fallback, cfg.Cache = cp.url(), store, cache.New(cacheDir, pub)
	a := &fakeApplier{}
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	conn := cp.accept(t)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)
	p := &published{store: store, priv: priv, cfgs: map[int64]*model.Config{}}

	send(t, conn, p.put(t, 0, 1, services("a.local"), nil))
	runs(t, a, 1, p.cfgs[1])
	for rev := int64(2); rev <= 4; rev++ {
		send(t, conn, p.put(t, rev-1, rev, services("a.local", fmt.Sprintf("r%d.local", rev)), nil))
		runs(t, a, rev, p.cfgs[rev])
	}
	require.Equal(t, int64(3), c.SyncState().Deltas)
	cancel()
	<-done

	boot := func(t *testing.T) *fakeApplier {
		t.Helper()
		cfg := testConfig(t, pub)
		cfg.CPURL, cfg.Cache = closedURL(t), cache.New(cacheDir, pub)
		a := &fakeApplier{}
		c, err := dpsync.New(cfg, a)
		require.NoError(t, err)
		run(t, c)
		return a
	}
	restarted := boot(t)
	runs(t, restarted, 4, p.cfgs[4])
	_, sources := restarted.applied()
	require.Equal(t, []string{dpsync.SourceCache}, sources)
	_, lp, err := cache.New(cacheDir, pub).Load()
	require.NoError(t, err)
	require.Equal(t, int64(1), lp.Revision, "the snapshot cached is revision 1's, the deltas after it")

	// A chain past its bound: the running revision's snapshot is cached.
	a2 := &fakeApplier{}
	cfg.Log = testConfig(t, pub).Log
	c2, err := dpsync.New(cfg, a2)
	require.NoError(t, err)
	run(t, c2)
	conn = cp.accept(t)
	cp.next(t, protocol.ActionHello, &hello)
	runs(t, a2, 4, p.cfgs[4])
	for rev := int64(5); rev <= 4+cache.MaxChain; rev++ {
		send(t, conn, p.put(t, rev-1, rev, services("a.local", fmt.Sprintf("r%d.local", rev)), nil))
		runs(t, a2, rev, p.cfgs[rev])
	}
	require.Eventually(t, func() bool {
		_, lp, err := cache.New(cacheDir, pub).Load()
		return err == nil && lp.Revision > 1
	}, waitFor, tick, "a full snapshot cached once the chain was full")
	_, lp, err = cache.New(cacheDir, pub).Load()
	require.NoError(t, err)
	// Deltas 2 to 65 filled the chain after revision 1's snapshot.
	require.Equal(t, int64(2+cache.MaxChain), lp.Revision, "the revision whose delta did not fit")
	require.Zero(t, c2.SyncState().DeltaFallbacks)
	require.Equal(t, "ok", c2.SyncState().Cache)
}

// Notices out of order: a delta whose base was skipped is not applied
// (the snapshot is), and an older revision's notice arriving late is not
// newer, so nothing goes back.
func TestDeltaReordered(t *testing.T) {
	t.Parallel()
	c, a, p, send, _ := deltaClient(t)
	send(p.put(t, 0, 1, services("a.local"), nil))
	runs(t, a, 1, p.cfgs[1])
	n2 := p.put(t, 1, 2, services("a.local", "b.local"), nil)
	send(p.put(t, 2, 3, services("a.local", "b.local", "c.local"), nil))
	runs(t, a, 3, p.cfgs[3])
	send(n2)
	send(p.put(t, 3, 4, services("a.local", "", "c.local"), nil))
	runs(t, a, 4, p.cfgs[4])
	_, sources := a.applied()
	require.Equal(t, []string{dpsync.SourceCP, dpsync.SourceCP, dpsync.SourceDelta}, sources)
	require.Equal(t, int64(1), c.SyncState().DeltaFallbacks)
}

// A delta from a revision the data plane never ran (published while it
// was away; its notice never came) is not applied: the snapshot is, and
// the chain continues from there.
func TestDeltaFromUnseenBase(t *testing.T) {
	t.Parallel()
	c, a, p, send, _ := deltaClient(t)
	send(p.put(t, 0, 1, services("a.local"), nil))
	runs(t, a, 1, p.cfgs[1])
	p.put(t, 1, 2, services("a.local", "b.local"), nil) // never announced
	send(p.put(t, 2, 3, services("a.local", "b.local", "c.local"), nil))
	runs(t, a, 3, p.cfgs[3])
	send(p.put(t, 3, 4, services("a.local", "c.local"), nil))
	runs(t, a, 4, p.cfgs[4])
	_, sources := a.applied()
	require.Equal(t, []string{dpsync.SourceCP, dpsync.SourceCP, dpsync.SourceDelta}, sources)
	st := c.SyncState()
	require.Equal(t, int64(1), st.Deltas)
	require.Equal(t, int64(1), st.DeltaFallbacks)
}

// latest writes latest.json naming n's snapshot and, when n offers one,
// its delta, as the publisher does.
func (p *published) latest(t *testing.T, n protocol.ConfigNotice) {
	t.Helper()
	ptr := snapshot.Pointer{ClusterID: n.ClusterID, Epoch: n.Epoch, Revision: n.Revision, Key: n.Key,
		SHA256: n.SHA256, Size: n.Size, Signature: n.Signature, Format: n.Format}
	if d := n.Delta; d != nil {
		ptr.Delta = snapshot.DeltaRef{Base: d.Base, Key: d.Key, SHA256: d.SHA256, Size: d.Size, Signature: d.Signature, Format: d.Format}
	}
	p.putLatest(t, ptr)
}

// TestDeltaFromFallback: with the control plane unreachable, a data plane
// polling latest.json applies the delta it names when it runs its base,
// and the full snapshot when it does not.
func TestDeltaFromFallback(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	cfg := testConfig(t, pub)
	cfg.Fallback = store
	a := &fakeApplier{}
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	p := &published{store: store, priv: priv, cfgs: map[int64]*model.Config{}}

	p.latest(t, p.put(t, 0, 1, services("a.local"), nil))
	run(t, c)
	runs(t, a, 1, p.cfgs[1])
	p.latest(t, p.put(t, 1, 2, services("a.local", "b.local"), nil))
	runs(t, a, 2, p.cfgs[2])
	// Revision 3 is never seen: the delta to 4 is from it.
	p.put(t, 2, 3, services("a.local", "b2.local"), nil)
	p.latest(t, p.put(t, 3, 4, services("a.local", "b2.local", "c.local"), nil))
	runs(t, a, 4, p.cfgs[4])

	_, sources := a.applied()
	require.Equal(t, []string{dpsync.SourceFallback, dpsync.SourceDelta, dpsync.SourceFallback}, sources)
	require.Equal(t, int64(1), c.SyncState().Deltas)
	require.Equal(t, int64(1), c.SyncState().DeltaFallbacks)
}

// TestDeltaResetsTraffic: the traffic a status reports is counted from
// the apply of the revision it names, whether a delta or a full snapshot
// brought it (a staged rollout judges each revision by it).
func TestDeltaResetsTraffic(t *testing.T) {
	t.Parallel()
	var requests, errs atomic.Int64
	c, a, p, send, cp := deltaClient(t, func(cfg *dpsync.Config) {
		cfg.Traffic = func() (int64, int64) { return requests.Load(), errs.Load() }
	})

	send(p.put(t, 0, 1, services("a.local"), nil))
	runs(t, a, 1, p.cfgs[1])
	requests.Store(10)
	errs.Store(9)
	send(p.put(t, 1, 2, services("a.local", "b.local"), nil))
	runs(t, a, 2, p.cfgs[2])
	require.Equal(t, int64(1), c.SyncState().Deltas)
	for {
		var st protocol.Status
		cp.next(t, protocol.ActionStatus, &st)
		if st.Revision == 2 {
			require.Zero(t, st.Requests, "requests of revision 1 counted for revision 2")
			require.Zero(t, st.Errors5xx, "5xx of revision 1 counted for revision 2")
			return
		}
	}
}

// TestReportsOnlyWhatIsNew: in the report window after an apply, a report
// that would repeat the last status sent is skipped: of the statuses
// before the traffic changes, only the apply's ack is sent (and at most
// one report that raced it, before the ack was recorded as sent).
func TestReportsOnlyWhatIsNew(t *testing.T) {
	t.Parallel()
	var requests, reads atomic.Int64
	_, a, p, send, cp := deltaClient(t, func(cfg *dpsync.Config) {
		cfg.Traffic = func() (int64, int64) { reads.Add(1); return requests.Load(), 0 }
		cfg.ReportInterval = 5 * time.Millisecond
	})
	send(p.put(t, 0, 1, services("a.local"), nil))
	runs(t, a, 1, p.cfgs[1])

	// Reports fall due every 5 ms here, each reading the traffic; once
	// twenty have been considered, none of them may have repeated the ack.
	base := reads.Load()
	require.Eventually(t, func() bool { return reads.Load() >= base+20 }, waitFor, tick)
	requests.Store(7)
	unchanged := 0
	for {
		var st protocol.Status
		cp.next(t, protocol.ActionStatus, &st)
		require.EqualValues(t, 1, st.Revision)
		if st.Requests == 7 {
			break
		}
		unchanged++
	}
	require.LessOrEqual(t, unchanged, 2, "unchanged reports were sent")
}
