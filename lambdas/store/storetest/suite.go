// Package storetest is the conformance suite of store.Store: every
// implementation runs Run from its own tests and must pass all of it.
package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Opener returns a new, empty store for one test; the store is closed
// by the opener's own t.Cleanup.
type Opener func(t *testing.T) store.Store

// Run runs the whole conformance suite against stores made by open.
func Run(t *testing.T, open Opener) {
	t.Run("CRUD", func(t *testing.T) { t.Parallel(); testCRUD(t, open) })
	t.Run("Get", func(t *testing.T) { t.Parallel(); testGet(t, open) })
	t.Run("Unique", func(t *testing.T) { t.Parallel(); testUnique(t, open) })
	t.Run("ForeignKeys", func(t *testing.T) { t.Parallel(); testForeignKeys(t, open) })
	t.Run("Cascades", func(t *testing.T) { t.Parallel(); testCascades(t, open) })
	t.Run("Restrict", func(t *testing.T) { t.Parallel(); testRestrict(t, open) })
	t.Run("List", func(t *testing.T) { t.Parallel(); testList(t, open) })
	t.Run("Revision", func(t *testing.T) { t.Parallel(); testRevision(t, open) })
	t.Run("Changes", func(t *testing.T) { t.Parallel(); testChanges(t, open) })
	t.Run("ReplaceAll", func(t *testing.T) { t.Parallel(); testReplaceAll(t, open) })
	t.Run("ReplaceAllLarge", func(t *testing.T) { t.Parallel(); testReplaceAllLarge(t, open) })
	t.Run("Concurrency", func(t *testing.T) { t.Parallel(); testConcurrency(t, open) })
	t.Run("Conditional", func(t *testing.T) { t.Parallel(); testConditional(t, open) })
	t.Run("LostUpdates", func(t *testing.T) { t.Parallel(); testLostUpdates(t, open) })
	t.Run("DeleteRace", func(t *testing.T) { t.Parallel(); testDeleteRace(t, open) })
	t.Run("Identity", func(t *testing.T) { t.Parallel(); testIdentity(t, open) })
	t.Run("ConfigHash", func(t *testing.T) { t.Parallel(); testConfigHash(t, open) })
	t.Run("ListUnique", func(t *testing.T) { t.Parallel(); testListUnique(t, open) })
	t.Run("ChangedSince", func(t *testing.T) { t.Parallel(); testChangedSince(t, open) })
}

// requireCode asserts that err is a *model.Error with code c.
func requireCode(t *testing.T, err error, c model.Code) *model.Error {
	t.Helper()
	var me *model.Error
	require.Error(t, err)
	require.True(t, errors.As(err, &me), "want a *model.Error with code %d, got %T: %v", c, err, err)
	require.Equal(t, c, me.Code, "error %q", me.Message)
	require.Equal(t, c.Name(), me.Name)
	return me
}

// requireUnchanged asserts that a failed write left the store as snap.
func requireUnchanged(t *testing.T, s store.Store, before snapshot) {
	t.Helper()
	after := take(t, s)
	require.Equal(t, before.rev, after.rev, "a failed write changed the revision")
	require.Equal(t, before.cfg, after.cfg, "a failed write changed the configuration")
}

// snapshot is an export and its revision.
type snapshot struct {
	cfg *model.Config
	rev int64
}

func take(t *testing.T, s store.Store) snapshot {
	t.Helper()
	cfg, rev, err := s.Export(context.Background())
	require.NoError(t, err)
	cfg.Sort()
	return snapshot{cfg, rev}
}

var origin = store.Origin{RequestID: "req-1", Method: "POST", Path: "/services"}

// mustCreate creates every entity in order and returns the last revision.
func mustCreate(t *testing.T, s store.Store, es ...model.Entity) int64 {
	t.Helper()
	var rev int64
	for _, e := range es {
		var err error
		rev, err = s.Create(context.Background(), e, origin)
		require.NoError(t, err, "creating %s %s", e.Kind(), e.Meta().ID)
	}
	return rev
}

// update replaces the stored entity with e's id by e, conditionally on
// the version it is at now.
func update(t *testing.T, s store.Store, e model.Entity) (int64, error) {
	t.Helper()
	_, ver, err := s.GetVersioned(context.Background(), e.Kind(), e.Meta().ID)
	require.NoError(t, err)
	return s.Update(context.Background(), e, ver, origin)
}

// requireAbsent asserts that the entity is gone.
func requireAbsent(t *testing.T, s store.Store, e model.Entity) {
	t.Helper()
	_, err := s.Get(context.Background(), e.Kind(), e.Meta().ID)
	requireCode(t, err, model.CodeNotFound)
}

// requireStored asserts that the store holds exactly e.
func requireStored(t *testing.T, s store.Store, e model.Entity) {
	t.Helper()
	got, err := s.Get(context.Background(), e.Kind(), e.Meta().ID)
	require.NoError(t, err)
	require.Equal(t, e, got)
}

// listAll lists up to the maximum page size.
var listAll = store.ListOptions{Size: 1000}

func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(context.Background())
	require.NoError(t, err)
	return rev
}
