package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// testConfigHash: a hash is reported for the revision it was recorded
// for, and only while that revision is current; a late record of an older
// revision never replaces a newer one; recording does not raise the
// revision.
func testConfigHash(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	_, rev, ok, err := s.ConfigHash(ctx)
	require.NoError(t, err)
	require.False(t, ok, "a new store has no hash recorded")
	require.Zero(t, rev)

	rev = mustCreate(t, s, service("a"))
	require.NoError(t, s.RecordConfigHash(ctx, rev, "hash-a"))
	hash, cur, ok, err := s.ConfigHash(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "hash-a", hash)
	require.Equal(t, rev, cur, "recording does not raise the revision")

	next := mustCreate(t, s, service("b"))
	_, cur, ok, err = s.ConfigHash(ctx)
	require.NoError(t, err)
	require.False(t, ok, "a write after the record makes it stale")
	require.Equal(t, next, cur)

	require.NoError(t, s.RecordConfigHash(ctx, next, "hash-b"))
	require.NoError(t, s.RecordConfigHash(ctx, rev, "late-a"), "a late record is not an error")
	hash, _, ok, err = s.ConfigHash(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "hash-b", hash, "a late record of an older revision is ignored")
}
