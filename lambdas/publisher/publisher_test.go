package publisher_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
)

var errRead = errors.New("read failed")

// testID is the identity of the stores these tests publish.
var testID = snapshot.Identity{ClusterID: "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f", Epoch: 1}

// source is a configuration store held in memory.
type source struct {
	mu        sync.Mutex
	rev       int64
	cfg       *model.Config
	id        store.Identity
	exportErr error
	exports   int
}

func newSource(rev int64, names ...string) *source {
	cfg := &model.Config{}
	for i, n := range names {
		s := model.NewService()
		s.ID = fmt.Sprintf("00000000-0000-4000-a000-%012d", i+1)
		s.Name = &n
		s.Host = n + ".internal"
		cfg.Add(s)
	}
	return &source{rev: rev, cfg: cfg, id: store.Identity{Identity: testID}}
}

func (s *source) Identity(context.Context) (store.Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id, nil
}

func (s *source) NewEpoch(_ context.Context, from snapshot.Identity, to int64) (snapshot.Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id.Identity != from {
		return snapshot.Identity{}, store.ErrEpochMoved
	}
	s.id = store.Identity{Identity: snapshot.Identity{ClusterID: from.ClusterID, Epoch: to}}
	return s.id.Identity, nil
}

func (s *source) set(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rev = rev
}

func (s *source) Revision(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev, nil
}

func (s *source) Export(context.Context) (*model.Config, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exports++
	if s.exportErr != nil {
		return nil, 0, s.exportErr
	}
	raw, _ := json.Marshal(s.cfg)
	var cp model.Config
	if err := json.Unmarshal(raw, &cp); err != nil {
		return nil, 0, err
	}
	return &cp, s.rev, nil
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	return pub, priv
}

func newDir(t *testing.T) *objstore.Dir {
	t.Helper()
	d, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	return d
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

var t0 = time.Date(2026, 11, 21, 5, 30, 0, 0, time.UTC)

// readLatest returns latest.json.
func readLatest(t *testing.T, objects objstore.Store) snapshot.Pointer {
	t.Helper()
	data, _, err := objects.Get(context.Background(), snapshot.LatestKey)
	require.NoError(t, err)
	var p snapshot.Pointer
	require.NoError(t, json.Unmarshal(data, &p))
	return p
}

// keys lists latest.json and the snapshots (deltas aside: deltaKeys).
func keys(t *testing.T, objects objstore.Store) []string {
	t.Helper()
	k, err := objects.List(context.Background(), "")
	require.NoError(t, err)
	return slices.DeleteFunc(k, func(key string) bool { return strings.HasPrefix(key, "deltas/") })
}

// deltaKeys lists the deltas.
func deltaKeys(t *testing.T, objects objstore.Store) []string {
	t.Helper()
	k, err := objects.List(context.Background(), "deltas/")
	require.NoError(t, err)
	return k
}

func TestPublishSealsAndPoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pub, priv := newKey(t)
	objects := newDir(t)
	src := newSource(3, "orders", "billing")
	p := publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv, Clock: fixedClock(t0)})

	ptr, err := p.Publish(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3), ptr.Revision)
	require.Equal(t, testID.Key(3), ptr.Key)
	require.Equal(t, ptr, readLatest(t, objects))
	require.Equal(t, []string{snapshot.LatestKey, testID.Key(3)}, keys(t, objects))

	data, _, err := objects.Get(ctx, ptr.Key)
	require.NoError(t, err)
	doc, err := snapshot.Open(data, ptr, pub)
	require.NoError(t, err)
	require.Equal(t, int64(3), doc.Revision)
	require.Len(t, doc.Services, 2)

	// A duplicate trigger publishes nothing and does not even export.
	again, err := p.Publish(ctx)
	require.NoError(t, err)
	require.Equal(t, ptr, again)
	require.Equal(t, 1, src.exports)
	require.Len(t, keys(t, objects), 2)

	// The next revision moves the pointer forward.
	src.set(4)
	ptr4, err := p.Publish(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(4), ptr4.Revision)
	require.Equal(t, ptr4, readLatest(t, objects))
	require.Len(t, keys(t, objects), 3)
}

func TestPublishNothingOnReadFailure(t *testing.T) {
	t.Parallel()
	_, priv := newKey(t)
	objects := newDir(t)
	src := newSource(7, "orders")
	src.exportErr = errRead
	p := publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv})

	_, err := p.Publish(context.Background())
	require.ErrorIs(t, err, errRead)
	require.Empty(t, keys(t, objects), "a failed read publishes nothing")
}

func TestPublishEmptyStoreIsNoop(t *testing.T) {
	t.Parallel()
	_, priv := newKey(t)
	objects := newDir(t)
	p := publisher.New(publisher.Options{Source: newSource(0), Objects: objects, Key: priv})
	ptr, err := p.Publish(context.Background())
	require.NoError(t, err)
	require.Zero(t, ptr.Revision)
	require.Empty(t, keys(t, objects))
}

func TestPublishersRacing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pub, priv := newKey(t)
	objects := newDir(t)
	src := newSource(9, "orders")

	const n = 8
	ptrs := make([]snapshot.Pointer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		// Each publisher seals at its own time, so each would build
		// different bytes: only one may win, and all must agree.
		p := publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv, Clock: fixedClock(t0.Add(time.Duration(i) * time.Millisecond))})
		wg.Add(1)
		go func() {
			defer wg.Done()
			ptrs[i], errs[i] = p.Publish(ctx)
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, ptrs[0], ptrs[i], "publisher %d", i)
	}
	require.Equal(t, []string{snapshot.LatestKey, testID.Key(9)}, keys(t, objects))
	latest := readLatest(t, objects)
	require.Equal(t, ptrs[0], latest)
	data, _, err := objects.Get(ctx, latest.Key)
	require.NoError(t, err)
	_, err = snapshot.Open(data, latest, pub)
	require.NoError(t, err)
}

// racingStore moves latest.json to a newer pointer right before the
// publisher's own compare-and-swap, as a concurrent publisher would.
type racingStore struct {
	objstore.Store
	once  sync.Once
	newer []byte
}

func (r *racingStore) Put(ctx context.Context, key string, data []byte, cond objstore.Condition) (string, error) {
	if key == snapshot.LatestKey {
		r.once.Do(func() {
			_, _ = r.Store.Put(ctx, key, r.newer, objstore.Condition{})
		})
	}
	return r.Store.Put(ctx, key, data, cond)
}

func TestPointerNeverMovesBackwards(t *testing.T) {
	t.Parallel()
	_, priv := newKey(t)
	dir := newDir(t)
	newer, err := json.Marshal(snapshot.Pointer{ClusterID: testID.ClusterID, Epoch: testID.Epoch, Revision: 12, Key: testID.Key(12)})
	require.NoError(t, err)
	objects := &racingStore{Store: dir, newer: newer}
	p := publisher.New(publisher.Options{Source: newSource(11, "orders"), Objects: objects, Key: priv})

	ptr, err := p.Publish(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(12), ptr.Revision, "the newer pointer stays")
	require.Equal(t, int64(12), readLatest(t, dir).Revision)
	_, _, err = dir.Get(context.Background(), testID.Key(11))
	require.NoError(t, err, "the snapshot itself is still written")
}
