package embedded

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/store"
)

// batches runs a resumable replace of consumers("2", 30) named name with
// token, stopping it after stopAfter batches (0: never), and returns the
// entities written that each batch reported and the replace's error.
func batches(t *testing.T, s *Store, name, token string, stopAfter int, stop error) ([]int, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var written []int
	_, err := s.ReplaceResumable(ctx, name, token, consumers("2", 30), nil, store.Origin{}, func(n int) error {
		written = append(written, n)
		if len(written) == stopAfter {
			if stop != nil {
				return stop
			}
			cancel() // the process stops
		}
		return nil
	})
	return written, err
}

// TestReplaceResumableGoesOn: a resumable replace stopped midway leaves
// nothing visible, its staged batches survive a restart (Open), and the
// same replace then goes on from the last batch staged, staging none of
// the earlier ones again, to the configuration a replace that never
// stopped gives.
func TestReplaceResumableGoesOn(t *testing.T) {
	ctx := context.Background()
	clean := openAt(t, filepath.Join(t.TempDir(), "cp.db"))
	defer clean.Close()
	clean.batch = 5
	whole, err := batches(t, clean, "a000-1", "t", 0, nil)
	require.NoError(t, err)
	want, wantRev, err := clean.Export(ctx)
	require.NoError(t, err)
	require.Greater(t, len(whole), 6)

	path := filepath.Join(t.TempDir(), "cp.db")
	s := openAt(t, path)
	s.batch = 5
	before, err := batches(t, s, "a000-1", "t", 4, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, before, 4)
	got, rev, err := s.Export(ctx)
	require.NoError(t, err)
	require.Zero(t, rev, "nothing visible")
	require.Zero(t, got.Len())
	require.NoError(t, s.Close())

	s = openAt(t, path) // a restart
	defer s.Close()
	s.batch = 5
	names, err := s.Resumable(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a000-1"}, names, "kept by Open")
	after, err := batches(t, s, "a000-1", "t", 0, nil)
	require.NoError(t, err)
	require.Len(t, after, len(whole)-len(before), "the batches staged before the restart are not staged again")
	require.Equal(t, whole[len(before):], after)
	got, rev, err = s.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, wantRev, rev)
	got.Sort()
	want.Sort()
	require.Equal(t, want, got)
	cur, all := generations(t, s)
	require.Equal(t, []string{cur}, all)
	names, err = s.Resumable(ctx)
	require.NoError(t, err)
	require.Empty(t, names, "committed: no longer resumable")
}

// TestReplaceResumableStartsAgain: another token's staged batches are
// not gone on with, a failure (not a stop) deletes what was staged, and
// DropResumable deletes a stopped replace's.
func TestReplaceResumableStartsAgain(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "cp.db"))
	defer s.Close()
	s.batch = 5
	whole, err := batches(t, s, "a000-2", "t1", 3, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, whole, 3)
	again, err := batches(t, s, "a000-2", "t2", 0, nil)
	require.NoError(t, err)
	require.Equal(t, 5, again[0], "another token: from the start")

	_, err = batches(t, s, "a000-3", "t", 2, errors.New("failed"))
	require.Error(t, err)
	names, err := s.Resumable(ctx)
	require.NoError(t, err)
	require.Empty(t, names, "a failure deletes what it staged")

	_, err = batches(t, s, "a000-4", "t", 2, nil)
	require.ErrorIs(t, err, context.Canceled)
	names, err = s.Resumable(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a000-4"}, names)
	require.NoError(t, s.DropResumable(ctx, "a000-4"))
	cur, all := generations(t, s)
	require.Equal(t, []string{cur}, all)
	require.False(t, slices.Contains(all, "r-a000-4"))
}

// TestReplaceResumableCommittedAlready: a replace run again after its
// commit (the caller stopped before recording it) stages nothing and
// returns the revision that made it current, and what it committed
// stays current.
func TestReplaceResumableCommittedAlready(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "cp.db"))
	defer s.Close()
	s.batch = 5
	rev, err := s.ReplaceResumable(ctx, "a000-5", "t", consumers("2", 30), nil, store.Origin{}, nil)
	require.NoError(t, err)
	want, _, err := s.Export(ctx)
	require.NoError(t, err)
	staged := 0
	again, err := s.ReplaceResumable(ctx, "a000-5", "t", consumers("2", 30), nil, store.Origin{}, func(int) error {
		staged++
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, rev, again, "the revision of the commit")
	require.Zero(t, staged, "nothing staged again")
	got, gotRev, err := s.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, rev, gotRev)
	require.Equal(t, want, got)
}
