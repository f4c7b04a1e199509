package publisher_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/publisher"
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
