package cache_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

var (
	clusterA = snapshot.Identity{ClusterID: "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f", Epoch: 1}
	clusterB = snapshot.Identity{ClusterID: "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", Epoch: 1}
)

func sealAs(t *testing.T, priv ed25519.PrivateKey, id snapshot.Identity, rev int64) ([]byte, snapshot.Pointer) {
	t.Helper()
	doc := &snapshot.Document{ClusterID: id.ClusterID, Epoch: id.Epoch, Revision: rev, Config: model.Config{}}
	data, p, err := snapshot.Seal(doc, priv, time.Now())
	require.NoError(t, err)
	return data, p
}

// TestMarkKeepsIdentity: Save keeps to the mark's identity; Replace moves
// the mark to another identity, back in revision too; Load refuses a file
// of another identity than the mark (a crash inside Replace).
func TestMarkKeepsIdentity(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	dir := t.TempDir()
	c := cache.New(dir, pub)
	data, p := sealAs(t, priv, clusterA, 58)
	require.NoError(t, c.Save(data, p))
	m, err := c.Mark()
	require.NoError(t, err)
	require.Equal(t, cache.Mark{Revision: 58, SHA256: p.SHA256, ClusterID: clusterA.ClusterID, Epoch: 1}, m)

	other, op := sealAs(t, priv, clusterB, 60)
	require.ErrorIs(t, c.Save(other, op), cache.ErrStale, "another cluster, even at a higher revision")
	older, olderPtr := sealAs(t, priv, clusterB, 2)
	require.NoError(t, c.Replace(older, olderPtr))
	m, err = c.Mark()
	require.NoError(t, err)
	require.Equal(t, clusterB, m.Identity())
	require.Equal(t, int64(2), m.Revision)
	_, got, err := c.Load()
	require.NoError(t, err)
	require.Equal(t, olderPtr, got)

	// A crash between the mark and the file of a Replace: the file still
	// holds cluster B's snapshot, the mark names A's.
	back, backPtr := sealAs(t, priv, clusterA, 59)
	raw := []byte(`{"revision":59,"sha256":"` + backPtr.SHA256 + `","cluster_id":"` + clusterA.ClusterID + `","epoch":1}`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, cache.MarkFile), raw, 0o600))
	_, _, err = c.Load()
	require.ErrorIs(t, err, cache.ErrStale)
	require.NoError(t, c.Replace(back, backPtr))
	_, got, err = c.Load()
	require.NoError(t, err)
	require.Equal(t, backPtr, got)
}

// TestMarkWithoutIdentity: a mark written before identities existed reads
// as an unidentified one, and an unidentified snapshot is saved over it.
func TestMarkWithoutIdentity(t *testing.T) {
	t.Parallel()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	dir := t.TempDir()
	c := cache.New(dir, pub)
	data, p := sealAs(t, priv, snapshot.Identity{}, 5)
	require.NoError(t, c.Save(data, p))
	raw, err := os.ReadFile(filepath.Join(dir, cache.MarkFile))
	require.NoError(t, err)
	require.JSONEq(t, `{"revision":5,"sha256":"`+p.SHA256+`"}`, string(raw), "the first mark format")
	data, p = sealAs(t, priv, snapshot.Identity{}, 6)
	require.NoError(t, c.Save(data, p))
	data, p = sealAs(t, priv, clusterA, 7)
	require.ErrorIs(t, c.Save(data, p), cache.ErrStale, "an identified snapshot replaces an unidentified mark only by Replace")

	require.NoError(t, os.WriteFile(filepath.Join(dir, cache.MarkFile), []byte(`{"revision":6,"sha256":"x","cluster_id":"../../etc","epoch":1}`), 0o600))
	_, err = c.Mark()
	require.ErrorIs(t, err, snapshot.ErrCorrupt, "a malformed identity in the mark")
}
