package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testConditional checks versions and conditional writes one at a time:
// a write computed from a version that is no longer current fails with
// ErrConflict and changes nothing; an update never inserts.
func testConditional(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	svc, taken := service("svc"), service("taken")
	mustCreate(t, s, svc, taken)

	read := func(t *testing.T, e model.Entity) store.Version {
		t.Helper()
		_, ver, err := s.GetVersioned(ctx, e.Kind(), e.Meta().ID)
		require.NoError(t, err)
		require.NotEmpty(t, ver)
		return ver
	}

	t.Run("read", func(t *testing.T) {
		got, ver, err := s.GetVersioned(ctx, model.KindService, "svc")
		require.NoError(t, err)
		require.Equal(t, svc, got)
		require.Equal(t, ver, read(t, svc), "by id and by endpoint key")
		require.Equal(t, ver, read(t, svc), "a read leaves the version alone")
		_, _, err = s.GetVersioned(ctx, model.KindService, "nope")
		requireCode(t, err, model.CodeNotFound)
	})
	t.Run("update at the version read", func(t *testing.T) {
		ver := read(t, svc)
		svc.Tags = []string{"v2"}
		before := revision(t, s)
		rev, err := s.Update(ctx, svc, ver, origin)
		require.NoError(t, err)
		require.Equal(t, before+1, rev)
		requireStored(t, s, svc)
		require.NotEqual(t, ver, read(t, svc), "a write gives a new version")
	})
	t.Run("update at a stale version", func(t *testing.T) {
		stale := read(t, svc)
		_, err := update(t, s, svc)
		require.NoError(t, err)
		before := take(t, s)
		svc.Tags = []string{"lost"}
		_, err = s.Update(ctx, svc, stale, origin)
		require.ErrorIs(t, err, store.ErrConflict)
		requireUnchanged(t, s, before)
		_, err = s.Update(ctx, svc, "not a version", origin)
		require.ErrorIs(t, err, store.ErrConflict)
		requireUnchanged(t, s, before)
		svc.Tags = []string{"v2"}
	})
	t.Run("failed update keeps the version", func(t *testing.T) {
		ver := read(t, svc)
		clash := *svc
		clash.Name = taken.Name
		_, err := s.Update(ctx, &clash, ver, origin)
		requireCode(t, err, model.CodeUniqueViolation)
		require.Equal(t, ver, read(t, svc))
	})
	t.Run("update of a deleted entity", func(t *testing.T) {
		gone := service("gone")
		mustCreate(t, s, gone)
		ver := read(t, gone)
		_, err := s.Delete(ctx, model.KindService, gone.ID, store.AnyVersion, origin)
		require.NoError(t, err)
		before := take(t, s)
		_, err = s.Update(ctx, gone, ver, origin)
		requireCode(t, err, model.CodeNotFound)
		requireUnchanged(t, s, before)
		requireAbsent(t, s, gone)
	})
	t.Run("recreated since read", func(t *testing.T) {
		again := service("again")
		mustCreate(t, s, again)
		ver := read(t, again)
		_, err := s.Delete(ctx, model.KindService, again.ID, store.AnyVersion, origin)
		require.NoError(t, err)
		mustCreate(t, s, again)
		before := take(t, s)
		_, err = s.Update(ctx, again, ver, origin)
		require.ErrorIs(t, err, store.ErrConflict)
		_, err = s.Delete(ctx, model.KindService, again.ID, ver, origin)
		require.ErrorIs(t, err, store.ErrConflict)
		requireUnchanged(t, s, before)
	})
	t.Run("delete at a stale version", func(t *testing.T) {
		c := consumer("carol")
		cred := keyAuth("carol-key", c)
		mustCreate(t, s, c, cred)
		stale := read(t, c)
		_, err := update(t, s, c)
		require.NoError(t, err)
		before := take(t, s)
		_, err = s.Delete(ctx, model.KindConsumer, c.ID, stale, origin)
		require.ErrorIs(t, err, store.ErrConflict)
		requireUnchanged(t, s, before)
		rev, err := s.Delete(ctx, model.KindConsumer, c.ID, read(t, c), origin)
		require.NoError(t, err)
		require.Equal(t, before.rev+1, rev)
		requireAbsent(t, s, c)
		requireAbsent(t, s, cred)
	})
	t.Run("delete of an absent entity", func(t *testing.T) {
		before := take(t, s)
		rev, err := s.Delete(ctx, model.KindService, service("never").ID, "0", origin)
		require.NoError(t, err)
		require.Equal(t, before.rev, rev)
		requireUnchanged(t, s, before)
	})
	t.Run("replace all changes every version", func(t *testing.T) {
		ver := read(t, svc)
		_, err := s.ReplaceAll(ctx, &model.Config{Services: []*model.Service{svc}}, origin)
		require.NoError(t, err)
		requireStored(t, s, svc)
		before := take(t, s)
		_, err = s.Update(ctx, svc, ver, origin)
		require.ErrorIs(t, err, store.ErrConflict)
		_, err = s.Delete(ctx, model.KindService, svc.ID, ver, origin)
		require.ErrorIs(t, err, store.ErrConflict)
		requireUnchanged(t, s, before)
		_, err = update(t, s, svc)
		require.NoError(t, err, "the version read after the replace is current")
	})
}
