package sync_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

func TestNewRequiresVerifyKey(t *testing.T) {
	t.Parallel()
	_, err := dpsync.New(dpsync.Config{CPURL: "ws://127.0.0.1:1"}, &fakeApplier{})
	require.ErrorIs(t, err, dpsync.ErrNoVerifyKey)
}

func TestNoticeAppliedAndAcknowledged(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	cp := newFakeCP(t)
	cacheDir := t.TempDir()
	a := &fakeApplier{}

	cfg := testConfig(t, pub)
	cfg.CPURL = cp.url()
	cfg.Auth = dpsync.Bearer("s3cret")
	cfg.Fallback = store
	cfg.Cache = cache.New(cacheDir, pub)
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	conn := cp.accept(t)
	require.Equal(t, "Bearer s3cret", <-cp.auth)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)
	require.Equal(t, protocol.Hello{
		Action: protocol.ActionHello, NodeID: "node-1", Hostname: "host-1", Version: "test",
		Labels: map[string]string{"region": "eu"}, Revision: 0, ConfigHash: snapshot.ConfigHash(nil),
		Plugins: []string{"key-auth"},
	}, hello)
	require.Eventually(t, func() bool { return c.SyncState().CP == "connected" }, waitFor, tick)

	p := publish(t, store, priv, 3)
	send(t, conn, notice(p))
	var st protocol.Status
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateApplied, st.State)
	require.EqualValues(t, 3, st.Revision)
	require.Equal(t, snapshot.ConfigHash(&document(3).Config), st.ConfigHash)
	require.Equal(t, "node-1", st.NodeID)

	calls, sources := a.applied()
	require.Equal(t, []int64{3}, calls)
	require.Equal(t, []string{dpsync.SourceCP}, sources)
	state := c.SyncState()
	require.Equal(t, dpsync.SourceCP, state.Source)
	require.False(t, state.LastApply.IsZero())

	// Persisted before the ack.
	_, cached, err := cache.New(cacheDir, pub).Load()
	require.NoError(t, err)
	require.EqualValues(t, 3, cached.Revision)
}

func TestNoticeByPresignedURL(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	p := publish(t, store, priv, 5)
	files := httptest.NewServer(http.FileServer(http.Dir(store.Root())))
	t.Cleanup(files.Close)
	cp := newFakeCP(t)
	a := &fakeApplier{}

	cfg := testConfig(t, pub)
	cfg.CPURL = cp.url()
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	conn := cp.accept(t)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)
	n := notice(p)
	n.URL = files.URL + "/" + p.Key
	send(t, conn, n)
	var st protocol.Status
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateApplied, st.State)
	require.EqualValues(t, 5, a.revision())
}

func TestBadSnapshotRejected(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	_, otherPriv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	cp := newFakeCP(t)
	a := &fakeApplier{}

	cfg := testConfig(t, pub)
	cfg.CPURL = cp.url()
	cfg.Fallback = store
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	conn := cp.accept(t)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)

	bad := publish(t, store, otherPriv, 4)
	send(t, conn, notice(bad))
	var st protocol.Status
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateRejected, st.State)
	require.EqualValues(t, 4, st.RejectedRevision)
	require.EqualValues(t, 0, st.Revision)
	require.Contains(t, st.Error, snapshot.ErrSignature.Error())
	calls, _ := a.applied()
	require.Empty(t, calls)
	require.EqualValues(t, 4, c.SyncState().RejectedRevision)

	// The rejected revision is not tried again; a newer one is.
	send(t, conn, notice(bad))
	good := publish(t, store, priv, 6)
	send(t, conn, notice(good))
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateApplied, st.State)
	require.EqualValues(t, 6, st.Revision)
	calls, _ = a.applied()
	require.Equal(t, []int64{6}, calls)
}

func TestApplierErrorRejected(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	cp := newFakeCP(t)
	a := &fakeApplier{fail: errors.New("route conflict")}
	cacheDir := t.TempDir()

	cfg := testConfig(t, pub)
	cfg.CPURL = cp.url()
	cfg.Fallback = store
	cfg.Cache = cache.New(cacheDir, pub)
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	conn := cp.accept(t)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)
	send(t, conn, notice(publish(t, store, priv, 2)))
	var st protocol.Status
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateRejected, st.State)
	require.Contains(t, st.Error, "route conflict")
	_, _, err = cache.New(cacheDir, pub).Load()
	require.ErrorIs(t, err, cache.ErrEmpty, "a rejected snapshot is not cached")
}

func TestReconnectAfterDrop(t *testing.T) {
	t.Parallel()
	pub, _, err := snapshot.GenerateKey()
	require.NoError(t, err)
	cp := newFakeCP(t)
	cfg := testConfig(t, pub)
	cfg.CPURL = cp.url()
	c, err := dpsync.New(cfg, &fakeApplier{})
	require.NoError(t, err)
	run(t, c)

	for _, drop := range []func(*websocket.Conn){
		func(conn *websocket.Conn) { conn.CloseNow() },
		func(conn *websocket.Conn) { conn.Close(websocket.StatusGoingAway, "redeploy") },
		func(conn *websocket.Conn) { conn.Close(websocket.StatusPolicyViolation, "forbidden") },
		func(conn *websocket.Conn) {
			// Past the client's read limit: it closes with 1009.
			_ = conn.Write(context.Background(), websocket.MessageText, make([]byte, 1<<20))
		},
	} {
		conn := cp.accept(t)
		var hello protocol.Hello
		cp.next(t, protocol.ActionHello, &hello)
		drop(conn)
	}
	cp.accept(t)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)
	require.Equal(t, "node-1", hello.NodeID)
}

func TestFallbackWhileCPDown(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	publish(t, store, priv, 1)
	a := &fakeApplier{}

	cfg := testConfig(t, pub)
	cfg.CPURL = closedURL(t)
	cfg.Fallback = store
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	require.Eventually(t, func() bool { return a.revision() == 1 }, waitFor, tick)
	publish(t, store, priv, 2)
	require.Eventually(t, func() bool { return a.revision() == 2 }, waitFor, tick)
	state := c.SyncState()
	require.Equal(t, dpsync.SourceFallback, state.Source)
	require.NotEqual(t, "connected", state.CP)
	calls, _ := a.applied()
	require.Equal(t, []int64{1, 2}, calls, "each revision applied once")
}

func TestBootFromCache(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	cacheDir := t.TempDir()
	data, p, err := snapshot.Seal(document(9), priv, fixedTime)
	require.NoError(t, err)
	require.NoError(t, cache.New(cacheDir, pub).Save(data, p))
	a := &fakeApplier{}

	cfg := testConfig(t, pub)
	cfg.CPURL = closedURL(t)
	cfg.Fallback = dirStore(t) // nothing published
	cfg.Cache = cache.New(cacheDir, pub)
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	require.Eventually(t, func() bool { return c.SyncState().Source == dpsync.SourceCache }, waitFor, tick)
	calls, sources := a.applied()
	require.Equal(t, []int64{9}, calls)
	require.Equal(t, []string{dpsync.SourceCache}, sources)
}

func TestBootIgnoresDamagedCache(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	cacheDir := t.TempDir()
	data, p, err := snapshot.Seal(document(9), priv, fixedTime)
	require.NoError(t, err)
	require.NoError(t, cache.New(cacheDir, pub).Save(data, p))
	flipLastByte(t, filepath.Join(cacheDir, cache.File))
	store := dirStore(t)
	publish(t, store, priv, 10)
	a := &fakeApplier{}

	cfg := testConfig(t, pub)
	cfg.Fallback = store
	cfg.Cache = cache.New(cacheDir, pub)
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	require.Eventually(t, func() bool { return a.revision() == 10 }, waitFor, tick)
	calls, _ := a.applied()
	require.Equal(t, []int64{10}, calls, "the damaged cache is never applied")
	require.Equal(t, "disabled", c.SyncState().CP)
	// The fallback's snapshot replaces the damaged cache, just after the
	// apply.
	require.Eventually(t, func() bool {
		_, cached, err := cache.New(cacheDir, pub).Load()
		return err == nil && cached.Revision == 10 && c.SyncState().Cache == "ok"
	}, waitFor, tick)
}

func TestHeartbeatAndPlannedReconnect(t *testing.T) {
	t.Parallel()
	pub, _, err := snapshot.GenerateKey()
	require.NoError(t, err)
	cp := newFakeCP(t)
	cfg := testConfig(t, pub)
	cfg.CPURL = cp.url()
	cfg.Heartbeat = 10 * time.Millisecond
	cfg.Lifetime = 200 * time.Millisecond
	c, err := dpsync.New(cfg, &fakeApplier{})
	require.NoError(t, err)
	run(t, c)

	cp.accept(t)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)
	var st protocol.Status
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateApplied, st.State, "a heartbeat before any apply")
	require.Equal(t, "node-1", st.NodeID)

	// The connection is replaced when its lifetime is up.
	cp.accept(t)
	cp.next(t, protocol.ActionHello, &hello)
}

// countingStore counts the reads of latest.json that returned a body.
type countingStore struct {
	objstore.Store
	mu                 stdsync.Mutex
	bodies, unmodified int
}

func (s *countingStore) GetIfChanged(ctx context.Context, key, etag string, max int64) ([]byte, string, error) {
	data, got, err := objstore.GetIfChanged(ctx, s.Store, key, etag, max)
	if key == snapshot.LatestKey {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case errors.Is(err, objstore.ErrNotModified):
			s.unmodified++
		case err == nil:
			s.bodies++
		}
	}
	return data, got, err
}

func (s *countingStore) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies, s.unmodified
}

func TestFallbackPollIsConditional(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	dir := dirStore(t)
	store := &countingStore{Store: dir}
	publish(t, dir, priv, 1)
	a := &fakeApplier{}
	cfg := testConfig(t, pub)
	cfg.CPURL = closedURL(t)
	cfg.Fallback = store
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	require.Eventually(t, func() bool { return a.revision() == 1 }, waitFor, tick)
	require.Eventually(t, func() bool { _, n := store.counts(); return n >= 3 }, waitFor, tick,
		"an unchanged pointer is answered not modified")
	bodies, _ := store.counts()
	require.Equal(t, 1, bodies, "the pointer's body is read once while it does not change")
	publish(t, dir, priv, 2)
	require.Eventually(t, func() bool { return a.revision() == 2 }, waitFor, tick)
	calls, _ := a.applied()
	require.Equal(t, []int64{1, 2}, calls, "each revision applied once")
}

// TestConfiguredDecoder: a configured Decoder verifies and decodes
// fetched snapshots, and its refusal rejects the revision.
func TestConfiguredDecoder(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	cp := newFakeCP(t)
	a := &fakeApplier{}
	d := &refusingDecoder{}

	cfg := testConfig(t, pub)
	cfg.CPURL = cp.url()
	cfg.Fallback = store
	cfg.Decoder = d
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	conn := cp.accept(t)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)

	send(t, conn, notice(publish(t, store, priv, 4)))
	var st protocol.Status
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateRejected, st.State)
	require.Contains(t, st.Error, errRefused.Error())

	send(t, conn, notice(publish(t, store, priv, 5)))
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateApplied, st.State)
	require.EqualValues(t, 5, st.Revision)
	require.EqualValues(t, 2, d.opened.Load())
}

var errRefused = errors.New("refused by the decoder")

// refusingDecoder refuses the first snapshot it opens.
type refusingDecoder struct {
	dpsync.Standard
	opened atomic.Int64
}

func (d *refusingDecoder) OpenSnapshot(data []byte, p snapshot.Pointer, key ed25519.PublicKey) (*snapshot.Document, error) {
	if d.opened.Add(1) == 1 {
		return nil, errRefused
	}
	return d.Standard.OpenSnapshot(data, p, key)
}
