package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	snap "github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testIdentity: a store has one cluster identity, the same to every
// caller (concurrent first callers included), at epoch 1; NewEpoch moves
// the epoch forward only from the identity it was computed from, keeps
// the cluster id, and leaves the revision alone.
func testIdentity(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	ids := make([]store.Identity, 8)
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() { ids[i], errs[i] = s.Identity(ctx) })
	}
	wg.Wait()
	for i := range ids {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i], "every caller sees one identity")
	}
	first := ids[0]
	require.True(t, snap.IsClusterID(first.ClusterID), "cluster id %q", first.ClusterID)
	require.Equal(t, int64(1), first.Epoch)
	require.False(t, first.Restored, "a new store is not a restored one")

	rev := mustCreate(t, s, service("identity"))

	other := snap.Identity{ClusterID: "00000000-0000-4000-8000-000000000000", Epoch: 1}
	_, err := s.NewEpoch(ctx, other, 2)
	require.ErrorIs(t, err, store.ErrEpochMoved, "another cluster's identity")
	_, err = s.NewEpoch(ctx, first.Identity, 1)
	require.Error(t, err, "an epoch not after the current one")

	next, err := s.NewEpoch(ctx, first.Identity, 5)
	require.NoError(t, err)
	require.Equal(t, snap.Identity{ClusterID: first.ClusterID, Epoch: 5}, next)
	got, err := s.Identity(ctx)
	require.NoError(t, err)
	require.Equal(t, store.Identity{Identity: next}, got)
	require.Equal(t, rev, revision(t, s), "a new epoch does not move the revision")

	_, err = s.NewEpoch(ctx, first.Identity, 6)
	require.ErrorIs(t, err, store.ErrEpochMoved, "a new epoch computed from a stale identity")
	got, err = s.Identity(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(5), got.Epoch)
}
