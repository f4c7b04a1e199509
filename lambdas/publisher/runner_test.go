package publisher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/embedded"
)

func TestRunnerPublishesOnKick(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	_, priv := newKey(t)
	objects := newDir(t)
	src := newSource(1, "orders")
	src.exportErr = errRead
	r := publisher.NewRunner(publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv, Logger: quiet()}))
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	// The first attempt fails; the retry publishes once the store reads again.
	require.Eventually(t, func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.exports > 0
	}, time.Minute, 10*time.Millisecond)
	src.mu.Lock()
	src.exportErr = nil
	src.mu.Unlock()
	require.Eventually(t, func() bool {
		_, _, err := objects.Get(ctx, testID.Key(1))
		return err == nil
	}, time.Minute, 10*time.Millisecond)

	src.set(2)
	for range 5 {
		r.Kick()
	}
	require.Eventually(t, func() bool {
		_, _, err := objects.Get(ctx, snapshot.LatestKey)
		return err == nil && readLatest(t, objects).Revision == 2
	}, time.Minute, 10*time.Millisecond)

	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

// gate is a Notifier whose posts wait until released, counting them per
// connection.
type gate struct {
	release chan struct{}
	mu      sync.Mutex
	posts   map[string]int
}

func (g *gate) Post(ctx context.Context, id string, _ []byte) error {
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.posts[id]++
	return nil
}

// TestRunnerCoalescesABurst: fifty commits while a fan-out is in flight
// make at most one more publication, so each data plane gets at most two
// notices for the whole burst, the last naming the newest revision.
func TestRunnerCoalescesABurst(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, priv := newKey(t)
	objects := newDir(t)
	src := newSource(1, "orders")
	reg := cluster.NewMemory(nil)
	exp := time.Now().Add(time.Hour).Unix()
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: id, ExpiresAt: exp}))
	}
	g := &gate{release: make(chan struct{}), posts: map[string]int{}}
	r := publisher.NewRunner(publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv, Logger: quiet(),
		Notifier: g, Connections: reg}))
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	// The first publication's fan-out is held; a burst of commits lands.
	require.Eventually(t, func() bool {
		_, _, err := objects.Get(ctx, snapshot.LatestKey)
		return err == nil
	}, time.Minute, 10*time.Millisecond)
	for rev := int64(2); rev <= 51; rev++ {
		src.set(rev)
		r.Kick()
	}
	close(g.release)
	require.Eventually(t, func() bool {
		return readLatest(t, objects).Revision == 51
	}, time.Minute, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.posts["a"] == 2 && g.posts["b"] == 2 && g.posts["c"] == 2
	}, time.Minute, 10*time.Millisecond)
	cancel()
	<-done
	g.mu.Lock()
	defer g.mu.Unlock()
	require.Equal(t, map[string]int{"a": 2, "b": 2, "c": 2}, g.posts, "revision 1, then 51: one notice each")
}

// latestPuts counts the writes of latest.json that name a new revision:
// one per publication (a scheduled full snapshot sealed after its
// revision's delta rewrites latest.json at the same revision).
type latestPuts struct {
	objstore.Store
	n atomic.Int64

	mu   sync.Mutex
	revs map[int64]bool
}

func (l *latestPuts) Put(ctx context.Context, key string, data []byte, cond objstore.Condition) (string, error) {
	if key == snapshot.LatestKey {
		var ptr snapshot.Pointer
		if err := json.Unmarshal(data, &ptr); err != nil {
			return "", err
		}
		l.mu.Lock()
		if !l.revs[ptr.Revision] {
			if l.revs == nil {
				l.revs = map[int64]bool{}
			}
			l.revs[ptr.Revision] = true
			l.n.Add(1)
		}
		l.mu.Unlock()
	}
	return l.Store.Put(ctx, key, data, cond)
}

// TestRunnerCoalescesBursts: a storm of 200 writes from 8 writers, each
// commit kicking the runner, makes publications at most MinInterval
// apart, the last of them carrying every commit, each read from the
// change log (the store is exported once, for the first).
func TestRunnerCoalescesBursts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, priv := newKey(t)
	objects := &latestPuts{Store: newDir(t)}
	st := openStore(t, filepath.Join(t.TempDir(), "cp.db"))
	t.Cleanup(func() { _ = st.Close() })
	src := &countingExports{Store: st}
	const interval = 50 * time.Millisecond
	r := publisher.NewRunner(publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv, Logger: quiet(), MinInterval: interval}))
	st.OnCommit(func(int64) { r.Kick() })
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Run(ctx) }()

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				s := model.NewService()
				s.ID = fmt.Sprintf("00000000-0000-4000-8%03d-%012d", w, i)
				s.Name, s.Host = model.String(fmt.Sprintf("s-%d-%d", w, i)), "example.com"
				_, err := st.Create(ctx, s, store.Origin{})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	final, err := st.Revision(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, _, err := objects.Get(ctx, snapshot.LatestKey)
		return err == nil && readLatest(t, objects).Revision == final
	}, time.Minute, 10*time.Millisecond)
	elapsed := time.Since(start)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	pubs := objects.n.Load()
	require.LessOrEqual(t, pubs, int64(elapsed/interval)+1, "publications at most %s apart", interval)
	require.LessOrEqual(t, src.exports.Load(), int64(1), "only a publication without a base exports")
}

// countingExports counts a store's exports.
type countingExports struct {
	*embedded.Store
	exports atomic.Int64
}

func (c *countingExports) Export(ctx context.Context) (*model.Config, int64, error) {
	c.exports.Add(1)
	return c.Store.Export(ctx)
}
