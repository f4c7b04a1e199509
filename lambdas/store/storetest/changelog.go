package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testChangedSince: the change log names what each revision stored and
// deleted (tombstones, cascades included), a range coalesces them into the
// entities' state at its end, and a replacement or a revision ahead of the
// store is ErrLogGap.
func testChangedSince(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	svc, c := service("svc"), consumer("c")
	rt := route("r", svc)
	k := keyAuth("k", c)
	base := mustCreate(t, s, svc, rt, c, k)

	all, err := s.ChangedSince(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, int64(0), all.Base)
	require.Equal(t, base, all.Revision)
	require.Equal(t, 4, all.Upserts.Len())
	require.Empty(t, all.Deletes)

	none, err := s.ChangedSince(ctx, base)
	require.NoError(t, err)
	require.Equal(t, base, none.Revision)
	require.True(t, none.Upserts.Empty())
	require.Empty(t, none.Deletes)

	rt.Paths = []string{"/changed"}
	_, err = update(t, s, rt)
	require.NoError(t, err)
	_, err = s.Delete(ctx, model.KindConsumer, c.ID, store.AnyVersion, origin) // cascades to k
	require.NoError(t, err)
	d, e := consumer("d"), consumer("e")
	mustCreate(t, s, d, e)
	last, err := s.Delete(ctx, model.KindConsumer, e.ID, store.AnyVersion, origin)
	require.NoError(t, err)

	cs, err := s.ChangedSince(ctx, base)
	require.NoError(t, err)
	require.Equal(t, base, cs.Base)
	require.Equal(t, last, cs.Revision)
	require.Len(t, cs.Upserts.Routes, 1)
	require.Equal(t, []string{"/changed"}, cs.Upserts.Routes[0].Paths)
	require.Len(t, cs.Upserts.Consumers, 1)
	require.Equal(t, d.ID, cs.Upserts.Consumers[0].ID)
	require.Equal(t, 2, cs.Upserts.Len())
	require.ElementsMatch(t, []string{c.ID, e.ID}, cs.Deletes[model.KindConsumer])
	require.Equal(t, []string{k.ID}, cs.Deletes[model.KindKeyAuth])
	require.Len(t, cs.Deletes, 2)

	later, err := s.ChangedSince(ctx, base+1)
	require.NoError(t, err)
	require.Empty(t, later.Upserts.Routes, "the route was written at base+1 only")

	_, err = s.ChangedSince(ctx, last+1)
	require.ErrorIs(t, err, store.ErrLogGap)

	cfg := &model.Config{}
	cfg.Add(service("other"))
	replaced, err := s.ReplaceAll(ctx, cfg, origin)
	require.NoError(t, err)
	_, err = s.ChangedSince(ctx, last)
	require.ErrorIs(t, err, store.ErrLogGap, "a replacement is not logged entity by entity")
	after, err := s.ChangedSince(ctx, replaced)
	require.NoError(t, err)
	require.True(t, after.Upserts.Empty())

	r2 := route("r2", cfg.Services[0])
	rev := mustCreate(t, s, r2)
	cs, err = s.ChangedSince(ctx, replaced)
	require.NoError(t, err)
	require.Equal(t, rev, cs.Revision)
	require.Len(t, cs.Upserts.Routes, 1)
	require.Equal(t, r2.ID, cs.Upserts.Routes[0].ID)
}
