package sync_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

const (
	clusterA = "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f"
	clusterB = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
)

var (
	a1 = snapshot.Identity{ClusterID: clusterA, Epoch: 1}
	a2 = snapshot.Identity{ClusterID: clusterA, Epoch: 2}
	b1 = snapshot.Identity{ClusterID: clusterB, Epoch: 1}
)

// sealAs seals revision rev of identity id.
func sealAs(t *testing.T, priv ed25519.PrivateKey, id snapshot.Identity, rev int64) ([]byte, snapshot.Pointer) {
	t.Helper()
	doc := document(rev)
	doc.ClusterID, doc.Epoch = id.ClusterID, id.Epoch
	data, p, err := snapshot.Seal(doc, priv, fixedTime)
	require.NoError(t, err)
	return data, p
}

// publishAs seals revision rev of identity id into store and moves
// latest.json to it.
func publishAs(t *testing.T, store objstore.Store, priv ed25519.PrivateKey, id snapshot.Identity, rev int64) snapshot.Pointer {
	t.Helper()
	data, p := sealAs(t, priv, id, rev)
	ctx := context.Background()
	_, err := store.Put(ctx, p.Key, data, objstore.Condition{})
	require.NoError(t, err)
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	_, err = store.Put(ctx, snapshot.LatestKey, raw, objstore.Condition{})
	require.NoError(t, err)
	return p
}

// cacheAs leaves revision rev of identity id in a new cache directory, as
// a data plane that applied it would.
func cacheAs(t *testing.T, pub ed25519.PublicKey, priv ed25519.PrivateKey, id snapshot.Identity, rev int64) string {
	t.Helper()
	dir := t.TempDir()
	data, p := sealAs(t, priv, id, rev)
	require.NoError(t, cache.New(dir, pub).Save(data, p))
	return dir
}

func requireMark(t *testing.T, dir string, pub ed25519.PublicKey, id snapshot.Identity, rev int64) {
	t.Helper()
	require.Eventually(t, func() bool {
		m, err := cache.New(dir, pub).Mark()
		return err == nil && m.Identity() == id && m.Revision == rev
	}, waitFor, waitFor/500, "mark %s/%d", id, rev)
}

// TestClusterIdentityRules: a data plane running revision 58 of cluster A
// refuses revision 2 of cluster B loudly (an ERROR, the status message's
// reason, /status), follows revision 3 of a new epoch of A although it is
// lower (the mark goes back with it), then refuses the old epoch.
func TestClusterIdentityRules(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	cacheDir := cacheAs(t, pub, priv, a1, 58)
	cp := newFakeCP(t)
	a := &fakeApplier{}
	cfg := testConfig(t, pub)
	logs := captureLogs(t, &cfg)
	cfg.CPURL, cfg.Fallback, cfg.Cache = cp.url(), store, cache.New(cacheDir, pub)
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	conn := cp.accept(t)
	var hello protocol.Hello
	cp.next(t, protocol.ActionHello, &hello)
	require.Equal(t, int64(58), hello.Revision)
	require.Equal(t, clusterA, hello.ClusterID)
	require.Equal(t, int64(1), hello.Epoch)

	send(t, conn, notice(publishAs(t, store, priv, b1, 2)))
	var st protocol.Status
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateRejected, st.State)
	require.Equal(t, protocol.ReasonClusterMismatch, st.Reason)
	require.Equal(t, int64(2), st.RejectedRevision)
	require.Equal(t, int64(58), st.Revision)
	require.Equal(t, clusterA, st.ClusterID)
	require.Contains(t, st.Error, clusterB)
	require.Contains(t, st.Error, "--adopt-cluster")
	sync := c.SyncState()
	require.Equal(t, protocol.ReasonClusterMismatch, sync.Reason)
	require.Equal(t, clusterA, sync.ClusterID)
	require.Contains(t, sync.LastError, "--adopt-cluster")
	require.True(t, logs.has("level=ERROR", "another cluster", clusterB))
	requireMark(t, cacheDir, pub, a1, 58)

	// A new epoch of A (its store restored): followed, though lower.
	send(t, conn, notice(publishAs(t, store, priv, a2, 3)))
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateApplied, st.State)
	require.Equal(t, int64(3), st.Revision)
	require.Equal(t, a2, snapshot.Identity{ClusterID: st.ClusterID, Epoch: st.Epoch})
	require.Empty(t, c.SyncState().Reason)
	require.True(t, logs.has("level=WARN", "new epoch"))
	requireMark(t, cacheDir, pub, a2, 3)
	_, cached, err := cache.New(cacheDir, pub).Load()
	require.NoError(t, err)
	require.Equal(t, int64(3), cached.Revision)

	// The old epoch, even at a higher revision, is refused.
	send(t, conn, notice(publishAs(t, store, priv, a1, 60)))
	cp.next(t, protocol.ActionStatus, &st)
	require.Equal(t, protocol.StateRejected, st.State)
	require.Equal(t, protocol.ReasonClusterMismatch, st.Reason)
	require.Contains(t, st.Error, "epoch 2 of that cluster")
	calls, _ := a.applied()
	require.Equal(t, []int64{58, 3}, calls)
}

// TestAdoptCluster: allowed to adopt, a data plane follows another
// cluster's lower revision and its mark moves to it.
func TestAdoptCluster(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	store := dirStore(t)
	cacheDir := cacheAs(t, pub, priv, a1, 58)
	a := &fakeApplier{}
	cfg := testConfig(t, pub)
	logs := captureLogs(t, &cfg)
	cfg.Fallback, cfg.Cache, cfg.AdoptCluster = store, cache.New(cacheDir, pub), true
	publishAs(t, store, priv, b1, 2)
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	require.Eventually(t, func() bool { return a.revision() == 2 }, waitFor, waitFor/500)
	requireMark(t, cacheDir, pub, b1, 2)
	require.Equal(t, clusterB, c.SyncState().ClusterID)
	require.True(t, logs.has("level=WARN", "adopting another cluster", clusterA))
}

// TestFirstIdentifiedSnapshot: a cache written before identities exists
// is followed by the same control plane's first identified snapshot, but
// an identified control plane that goes back below it is refused.
func TestFirstIdentifiedSnapshot(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	tests := []struct {
		desc    string
		rev     int64
		applied bool
	}{
		{desc: "the same revision, identified", rev: 58, applied: true},
		{desc: "a lower revision of a cluster", rev: 2},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			store := dirStore(t)
			cacheDir := cacheAs(t, pub, priv, snapshot.Identity{}, 58)
			a := &fakeApplier{}
			cfg := testConfig(t, pub)
			cfg.Fallback, cfg.Cache = store, cache.New(cacheDir, pub)
			publishAs(t, store, priv, a1, tt.rev)
			c, err := dpsync.New(cfg, a)
			require.NoError(t, err)
			run(t, c)
			if tt.applied {
				require.Eventually(t, func() bool { return c.SyncState().ClusterID == clusterA }, waitFor, waitFor/500)
				requireMark(t, cacheDir, pub, a1, 58)
				return
			}
			require.Eventually(t, func() bool { return c.SyncState().Reason == protocol.ReasonClusterMismatch }, waitFor, waitFor/500)
			require.Contains(t, c.SyncState().LastError, "does not identify its cluster")
			calls, _ := a.applied()
			require.Equal(t, []int64{58}, calls)
		})
	}
}

// TestLostCacheKeepsItsCluster: a cache that no longer verifies (another
// signing key) is not booted from, but its mark still names the cluster:
// another cluster's snapshot, lower than the mark, is refused loudly, not
// ignored and not taken silently.
func TestLostCacheKeepsItsCluster(t *testing.T) {
	t.Parallel()
	oldPub, oldPriv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	cacheDir := cacheAs(t, oldPub, oldPriv, a1, 58)
	store := dirStore(t)
	publishAs(t, store, priv, b1, 2)
	a := &fakeApplier{}
	cfg := testConfig(t, pub)
	cfg.Fallback, cfg.Cache = store, cache.New(cacheDir, pub)
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)

	require.Eventually(t, func() bool { return c.SyncState().Reason == protocol.ReasonClusterMismatch }, waitFor, waitFor/500)
	st := c.SyncState()
	require.Equal(t, "lost", st.Cache)
	require.Contains(t, st.LastError, "cached revision 58 of cluster "+clusterA)
	require.Equal(t, int64(2), st.RejectedRevision)
	calls, _ := a.applied()
	require.Empty(t, calls)
}
