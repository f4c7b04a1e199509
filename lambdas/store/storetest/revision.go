package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testRevision checks that every write raises the revision by exactly one
// and that failed or empty writes do not.
func testRevision(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	require.Equal(t, int64(0), revision(t, s), "a new store is at revision 0")
	cfg, rev, err := s.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(0), rev)
	require.True(t, cfg.Empty())

	svc := service("svc")
	ghost := service("ghost")
	steps := []struct {
		desc  string
		write func() (int64, error)
		ok    bool
	}{
		{"create", func() (int64, error) { return s.Create(ctx, svc, origin) }, true},
		{"duplicate create", func() (int64, error) { return s.Create(ctx, svc, origin) }, false},
		{"update", func() (int64, error) {
			svc.Tags = []string{"v2"}
			return update(t, s, svc)
		}, true},
		{"dangling route", func() (int64, error) { return s.Create(ctx, route("r", ghost), origin) }, false},
		{"route", func() (int64, error) { return s.Create(ctx, route("r", svc), origin) }, true},
		{"restricted delete", func() (int64, error) { return s.Delete(ctx, model.KindService, svc.ID, store.AnyVersion, origin) }, false},
		{"invalid replace", func() (int64, error) {
			return s.ReplaceAll(ctx, &model.Config{Routes: []*model.Route{route("x", ghost)}}, origin)
		}, false},
		{"replace", func() (int64, error) {
			return s.ReplaceAll(ctx, &model.Config{Services: []*model.Service{ghost}}, origin)
		}, true},
		{"delete", func() (int64, error) { return s.Delete(ctx, model.KindService, ghost.ID, store.AnyVersion, origin) }, true},
		{"replace with nothing", func() (int64, error) { return s.ReplaceAll(ctx, &model.Config{}, origin) }, true},
	}
	want := int64(0)
	for _, st := range steps {
		before := take(t, s)
		rev, err := st.write()
		if !st.ok {
			require.Error(t, err, st.desc)
			requireUnchanged(t, s, before)
			continue
		}
		require.NoError(t, err, st.desc)
		want++
		require.Equal(t, want, rev, st.desc)
		after := take(t, s)
		require.Equal(t, want, after.rev, st.desc)
	}
}

// testChanges reads the change history back.
func testChanges(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	svc, c := service("svc"), consumer("c")
	o := store.Origin{RequestID: "abc", Method: "DELETE", Path: "/consumers/c"}
	mustCreate(t, s, svc, c, keyAuth("k", c))
	_, err := s.Delete(ctx, model.KindConsumer, c.ID, store.AnyVersion, o)
	require.NoError(t, err)
	_, err = s.Delete(ctx, model.KindConsumer, c.ID, store.AnyVersion, o) // absent: no change
	require.NoError(t, err)

	all, err := s.Changes(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, all, 4)
	for i, ch := range all {
		require.Equal(t, int64(i+1), ch.Revision)
		require.NotZero(t, ch.Time)
		require.NotEmpty(t, ch.Summary)
	}
	require.Equal(t, origin, all[0].Origin)
	require.Equal(t, o, all[3].Origin)
	require.Len(t, all[3].Summary, 2, "the cascade is recorded: %v", all[3].Summary)
	require.Contains(t, all[0].Summary[0], svc.ID)

	page, err := s.Changes(ctx, 1, 2)
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.Equal(t, int64(2), page[0].Revision)
	require.Equal(t, int64(3), page[1].Revision)

	none, err := s.Changes(ctx, 4, 10)
	require.NoError(t, err)
	require.Empty(t, none)
}
