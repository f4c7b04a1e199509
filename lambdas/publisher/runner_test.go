package publisher_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
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
