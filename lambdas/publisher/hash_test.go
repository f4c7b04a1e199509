package publisher_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/publisher"
)

// TestPublishRecordsConfigHash: publishing a revision keeps its
// configuration hash with it in the store, the hash of what the snapshot
// carries, so that GET /status need not export the configuration.
func TestPublishRecordsConfigHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pub, priv := newKey(t)
	s := openStore(t, filepath.Join(t.TempDir(), "cp.db"))
	t.Cleanup(func() { _ = s.Close() })
	addService(t, s, "a")
	objects := newDir(t)
	ptr, err := publisher.New(publisher.Options{Source: s, Objects: objects, Key: priv, Logger: quiet()}).Publish(ctx)
	require.NoError(t, err)

	hash, rev, ok, err := s.ConfigHash(ctx)
	require.NoError(t, err)
	require.True(t, ok, "the published revision's hash is recorded")
	require.Equal(t, ptr.Revision, rev)
	data, _, err := objects.Get(ctx, ptr.Key)
	require.NoError(t, err)
	doc, err := snapshot.Open(data, ptr, pub)
	require.NoError(t, err)
	require.Equal(t, snapshot.ConfigHash(&doc.Config), hash)
}
