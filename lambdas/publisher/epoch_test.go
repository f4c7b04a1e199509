package publisher_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

const otherCluster = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"

// logBuffer collects a publisher's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func addService(t *testing.T, s store.Store, name string) int64 {
	t.Helper()
	svc := model.NewService()
	svc.ID = "00000000-0000-4000-a000-" + strings.Repeat("0", 12-len(name)) + name
	svc.Name, svc.Host = &name, name+".internal"
	rev, err := s.Create(context.Background(), svc, store.Origin{})
	require.NoError(t, err)
	return rev
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, 0o600))
}

func openStore(t *testing.T, path string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(path)
	require.NoError(t, err)
	return s
}

// TestPublishRestoredEmbeddedStore: an embedded store restored from a copy
// of its file is behind what its epoch published; the publisher starts a
// new epoch (one past the store's and the pointer's, so restoring the same
// copy twice never reuses an epoch) and publishes its lower revision, which
// has its own key, beside the old epoch's snapshot of that revision.
func TestPublishRestoredEmbeddedStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pub, priv := newKey(t)
	dir := t.TempDir()
	path, backup := filepath.Join(dir, "cp.db"), filepath.Join(dir, "backup.db")
	objects := newDir(t)
	logs := &logBuffer{}
	publish := func(s store.Store) snapshot.Pointer {
		ptr, err := publisher.New(publisher.Options{Source: s, Objects: objects, Key: priv, Logger: logs.logger()}).Publish(ctx)
		require.NoError(t, err)
		require.Equal(t, ptr, readLatest(t, objects))
		data, _, err := objects.Get(ctx, ptr.Key)
		require.NoError(t, err)
		_, err = snapshot.Open(data, ptr, pub)
		require.NoError(t, err)
		return ptr
	}

	s := openStore(t, path)
	id, err := s.Identity(ctx)
	require.NoError(t, err)
	addService(t, s, "a")
	addService(t, s, "b")
	require.NoError(t, s.Close())
	copyFile(t, path, backup)
	s = openStore(t, path)
	addService(t, s, "c")
	addService(t, s, "d")
	first := publish(s)
	require.Equal(t, snapshot.Pointer{ClusterID: id.ClusterID, Epoch: 1, Revision: 4}, identityOf(first))
	require.NoError(t, s.Close())

	// Restored from the copy: revision 2, epoch 1.
	copyFile(t, backup, path)
	s = openStore(t, path)
	second := publish(s)
	require.Equal(t, snapshot.Pointer{ClusterID: id.ClusterID, Epoch: 2, Revision: 2}, identityOf(second))
	require.Contains(t, logs.String(), "level=WARN")
	require.Contains(t, logs.String(), "behind revision 4")
	got, err := s.Identity(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Epoch, "the store records its new epoch")
	require.Equal(t, int64(3), identityOf(publishAfter(t, s, "e", publish)).Revision, "the new epoch moves on")
	require.NoError(t, s.Close())

	// Restored from the same copy again: epoch 3, not a second epoch 2.
	copyFile(t, backup, path)
	s = openStore(t, path)
	third := publish(s)
	require.Equal(t, snapshot.Pointer{ClusterID: id.ClusterID, Epoch: 3, Revision: 2}, identityOf(third))
	require.NoError(t, s.Close())
	require.ElementsMatch(t, []string{snapshot.LatestKey, first.Key, second.Key,
		snapshot.Identity{ClusterID: id.ClusterID, Epoch: 2}.Key(3), third.Key}, keys(t, objects))
}

func publishAfter(t *testing.T, s store.Store, name string, publish func(store.Store) snapshot.Pointer) snapshot.Pointer {
	t.Helper()
	addService(t, s, name)
	return publish(s)
}

// identityOf keeps a pointer's identity and revision.
func identityOf(p snapshot.Pointer) snapshot.Pointer {
	return snapshot.Pointer{ClusterID: p.ClusterID, Epoch: p.Epoch, Revision: p.Revision}
}

// TestPublishRestoredTable: a store that reports itself restored (a
// DynamoDB table restored from a backup) gets a new epoch even at the
// revision latest.json holds, and data planes are told.
func TestPublishRestoredTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, priv := newKey(t)
	objects := newDir(t)
	src := newSource(3, "orders")
	p := publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv, Logger: quiet()})
	before, err := p.Publish(ctx)
	require.NoError(t, err)
	src.id.Restored = true
	after, err := p.Publish(ctx)
	require.NoError(t, err)
	require.Equal(t, snapshot.Pointer{ClusterID: testID.ClusterID, Epoch: 2, Revision: 3}, identityOf(after))
	require.NotEqual(t, before.Key, after.Key)
	require.Equal(t, int64(2), src.id.Epoch)
	require.False(t, src.id.Restored)
}

// TestPublishOverAnotherCluster: a pointer of another cluster, or one
// published before identities, is replaced even by a lower revision
// (logged); an empty store announces nothing of another cluster's.
func TestPublishOverAnotherCluster(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		prev snapshot.Pointer
		log  string
	}{
		{desc: "another cluster", prev: snapshot.Pointer{ClusterID: otherCluster, Epoch: 1, Revision: 58}, log: "level=WARN"},
		{desc: "unidentified", prev: snapshot.Pointer{Revision: 58}, log: "before cluster identities"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			_, priv := newKey(t)
			objects := newDir(t)
			tt.prev.Key = tt.prev.Identity().Key(tt.prev.Revision)
			putLatest(t, objects, tt.prev)
			logs := &logBuffer{}
			note := &notifier{posts: map[string][]protocol.ConfigNotice{}}

			src := newSource(0)
			p := publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv, Logger: logs.logger(), Notifier: note, Connections: oneConnection(t)})
			got, err := p.Publish(ctx)
			require.NoError(t, err)
			require.Equal(t, tt.prev, got, "nothing to publish yet")
			require.Empty(t, note.posted(), "another cluster's pointer is not announced")

			src.set(2)
			got, err = p.Publish(ctx)
			require.NoError(t, err)
			require.Equal(t, snapshot.Pointer{ClusterID: testID.ClusterID, Epoch: 1, Revision: 2}, identityOf(got))
			require.Equal(t, got, readLatest(t, objects))
			require.Contains(t, logs.String(), tt.log)
			require.Equal(t, []string{"c"}, note.posted())
		})
	}
}

// TestPointerNeverMovesToAnOlderEpoch: when a concurrent publisher moves
// latest.json to a newer epoch right before this one's compare-and-swap,
// the newer epoch stays, whatever the revisions.
func TestPointerNeverMovesToAnOlderEpoch(t *testing.T) {
	t.Parallel()
	_, priv := newKey(t)
	dir := newDir(t)
	epoch2 := snapshot.Identity{ClusterID: testID.ClusterID, Epoch: 2}
	newer, err := json.Marshal(snapshot.Pointer{ClusterID: epoch2.ClusterID, Epoch: 2, Revision: 1, Key: epoch2.Key(1)})
	require.NoError(t, err)
	objects := &racingStore{Store: dir, newer: newer}
	p := publisher.New(publisher.Options{Source: newSource(11, "orders"), Objects: objects, Key: priv, Logger: quiet()})
	ptr, err := p.Publish(context.Background())
	require.NoError(t, err)
	require.Equal(t, snapshot.Pointer{ClusterID: testID.ClusterID, Epoch: 2, Revision: 1}, identityOf(ptr))
	require.Equal(t, int64(2), readLatest(t, dir).Epoch)
}

// TestOccupiedKeyRefused: a snapshot key holding another configuration
// (which no correct history leaves) is reported, never signed for.
func TestOccupiedKeyRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, priv := newKey(t)
	objects := newDir(t)
	data, ptr, err := snapshot.Seal(&snapshot.Document{ClusterID: testID.ClusterID, Epoch: 1, Revision: 3}, priv, t0)
	require.NoError(t, err)
	_, err = objects.Put(ctx, ptr.Key, data, objstore.Condition{})
	require.NoError(t, err)
	p := publisher.New(publisher.Options{Source: newSource(3, "orders"), Objects: objects, Key: priv, Logger: quiet()})
	_, err = p.Publish(ctx)
	require.ErrorIs(t, err, publisher.ErrOccupied)
	_, _, err = objects.Get(ctx, snapshot.LatestKey)
	require.ErrorIs(t, err, objstore.ErrNotFound)
}

func putLatest(t *testing.T, objects objstore.Store, p snapshot.Pointer) {
	t.Helper()
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	_, err = objects.Put(context.Background(), snapshot.LatestKey, raw, objstore.Condition{})
	require.NoError(t, err)
}

// oneConnection is a registry with connection "c" of a data plane that
// has not said hello.
func oneConnection(t *testing.T) *cluster.Memory {
	t.Helper()
	reg := cluster.NewMemory(nil)
	require.NoError(t, reg.PutConnection(context.Background(), cluster.Connection{ID: "c", ExpiresAt: time.Now().Add(time.Hour).Unix()}))
	return reg
}
