package publisher_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// edit changes the source's configuration and revision together.
func (s *source) edit(rev int64, fn func(*model.Config)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.cfg)
	s.rev = rev
}

// openDelta reads and verifies the delta n offers, and applies it to the
// snapshot of its base.
func openDelta(t *testing.T, objects objstore.Store, pub ed25519.PublicKey, d *protocol.DeltaNotice) (*delta.Document, *model.Config) {
	t.Helper()
	ctx := context.Background()
	ptr := delta.Pointer{ClusterID: testID.ClusterID, Epoch: testID.Epoch, Base: d.Base, Revision: d.Revision,
		Key: d.Key, SHA256: d.SHA256, Size: d.Size, Signature: d.Signature, Format: d.Format}
	require.NoError(t, ptr.Check())
	data, _, err := objects.Get(ctx, d.Key)
	require.NoError(t, err)
	doc, err := delta.Open(data, ptr, pub)
	require.NoError(t, err)
	raw, _, err := objects.Get(ctx, testID.Key(d.Base))
	require.NoError(t, err)
	base, err := snapshot.Decode(raw)
	require.NoError(t, err)
	got, err := delta.Apply(&base.Config, d.Base, doc)
	require.NoError(t, err)
	return doc, got
}

// snapshotHash is the configuration hash of revision rev's snapshot.
func snapshotHash(t *testing.T, objects objstore.Store, rev int64) string {
	t.Helper()
	raw, _, err := objects.Get(context.Background(), testID.Key(rev))
	require.NoError(t, err)
	doc, err := snapshot.Decode(raw)
	require.NoError(t, err)
	return snapshot.ConfigHash(&doc.Config)
}

func TestPublishWritesDeltas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pubKey, priv := newKey(t)
	objects := newDir(t)
	reg := cluster.NewMemory(nil)
	require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: "dp", ExpiresAt: time.Now().Add(time.Hour).Unix()}))
	note := &notifier{posts: map[string][]protocol.ConfigNotice{}}
	src := newSource(1, "orders", "billing")
	newPublisher := func() *publisher.Publisher {
		return publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv, Clock: fixedClock(t0),
			Notifier: note, Connections: reg, Presigner: presigner{}, Logger: quiet()})
	}
	p := newPublisher()

	// The first revision has nothing to be a delta from.
	_, err := p.Publish(ctx)
	require.NoError(t, err)
	require.Empty(t, deltaKeys(t, objects))
	require.Nil(t, note.posts["dp"][0].Delta)

	// Revisions 2 and 3 committed before the next publication: one delta
	// from 1 to 3 (billing deleted, orders changed, shipping added).
	src.edit(3, func(c *model.Config) {
		c.Services[0].Host = "orders.v2.internal"
		c.Services = c.Services[:1]
		s := model.NewService()
		s.ID, s.Name, s.Host = "00000000-0000-4000-a000-000000000009", model.String("shipping"), "shipping.internal"
		c.Add(s)
	})
	ptr, err := p.Publish(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3), ptr.Revision, "latest.json names the full snapshot")
	require.Equal(t, testID.Key(3), ptr.Key)
	require.Equal(t, []string{delta.Key(testID, 1, 3)}, deltaKeys(t, objects))
	require.Equal(t, ptr, readLatest(t, objects))
	require.Equal(t, int64(1), ptr.Delta.Base, "latest.json names the delta too")
	require.Equal(t, delta.Key(testID, 1, 3), ptr.Delta.Key)
	n := note.posts["dp"][1]
	require.Equal(t, int64(3), n.Revision)
	require.NotNil(t, n.Delta, "the notice offers the delta")
	require.Equal(t, int64(1), n.Delta.Base)
	require.Equal(t, "https://bucket.example/"+n.Delta.Key+"?ttl="+cluster.PresignTTL.String(), n.Delta.URL)
	doc, got := openDelta(t, objects, pubKey, n.Delta)
	require.Len(t, doc.Upserts.Services, 2)
	require.Equal(t, []string{"00000000-0000-4000-a000-000000000002"}, doc.Deletes[model.KindService])
	require.Equal(t, snapshotHash(t, objects, 3), snapshot.ConfigHash(got))

	// A publisher that did not write the base (a new Lambda instance)
	// reads it back from its snapshot.
	src.edit(4, func(c *model.Config) { c.Services[1].Host = "shipping.v2.internal" })
	_, err = newPublisher().Publish(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{delta.Key(testID, 1, 3), delta.Key(testID, 3, 4)}, deltaKeys(t, objects))
	n = note.posts["dp"][2]
	require.NotNil(t, n.Delta)
	doc, got = openDelta(t, objects, pubKey, n.Delta)
	require.Len(t, doc.Upserts.Services, 1)
	require.Empty(t, doc.Deletes)
	require.Equal(t, snapshotHash(t, objects, 4), snapshot.ConfigHash(got))
}

func TestPublishWithoutDeltas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, priv := newKey(t)
	objects := newDir(t)
	src := newSource(1, "orders")
	p := publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv, NoDeltas: true, Logger: quiet()})
	_, err := p.Publish(ctx)
	require.NoError(t, err)
	src.edit(2, func(c *model.Config) { c.Services[0].Host = "orders.v2.internal" })
	_, err = p.Publish(ctx)
	require.NoError(t, err)
	require.Empty(t, deltaKeys(t, objects))
	require.Len(t, keys(t, objects), 3)
}

// TestDeltasFromEmbeddedStore: writes through the embedded store, each
// published, give a chain of deltas that takes the first snapshot to the
// last, with a delete among them.
func TestDeltasFromEmbeddedStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pubKey, priv := newKey(t)
	objects := newDir(t)
	st := openStore(t, filepath.Join(t.TempDir(), "cp.db"))
	t.Cleanup(func() { _ = st.Close() })
	p := publisher.New(publisher.Options{Source: st, Objects: objects, Key: priv, Logger: quiet()})
	origin := store.Origin{RequestID: "test"}

	svc := func(n int) *model.Service {
		s := model.NewService()
		s.ID, s.Name, s.Host = fmt.Sprintf("00000000-0000-4000-a000-%012d", n), model.String(fmt.Sprintf("s%d", n)), "example.com"
		s.CreatedAt, s.UpdatedAt = 1795239000, 1795239000
		return s
	}
	_, err := st.Create(ctx, svc(1), origin)
	require.NoError(t, err)
	first, err := p.Publish(ctx)
	require.NoError(t, err)
	_, err = st.Create(ctx, svc(2), origin)
	require.NoError(t, err)
	_, err = p.Publish(ctx)
	require.NoError(t, err)
	_, err = st.Delete(ctx, model.KindService, svc(1).ID, store.AnyVersion, origin)
	require.NoError(t, err)
	last, err := p.Publish(ctx)
	require.NoError(t, err)

	id, err := st.Identity(ctx)
	require.NoError(t, err)
	require.Len(t, deltaKeys(t, objects), 2)
	raw, _, err := objects.Get(ctx, first.Key)
	require.NoError(t, err)
	doc, err := snapshot.Open(raw, first, pubKey)
	require.NoError(t, err)
	cfg, rev := &doc.Config, first.Revision
	for _, key := range deltaKeys(t, objects) {
		data, _, err := objects.Get(ctx, key)
		require.NoError(t, err)
		d, err := delta.Decode(data)
		require.NoError(t, err)
		require.Equal(t, delta.Key(id.Identity, d.Base, d.Revision), key)
		cfg, err = delta.Apply(cfg, rev, d)
		require.NoError(t, err)
		rev = d.Revision
	}
	require.Equal(t, last.Revision, rev)
	require.Len(t, cfg.Services, 1)
	require.Equal(t, svc(2).ID, cfg.Services[0].ID)
	exported, _, err := st.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, snapshot.ConfigHash(exported), snapshot.ConfigHash(cfg))
}
