package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testCRUD creates, reads, updates and deletes one entity of every kind,
// and checks that what is read back is exactly what was written, Kong's
// defaults included.
func testCRUD(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	all := graph()
	for i, e := range all {
		rev, err := s.Create(ctx, e, origin)
		require.NoError(t, err, "creating %s", e.Kind())
		require.Equal(t, int64(i+1), rev)
		requireStored(t, s, e)
	}
	cfg, rev, err := s.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(len(all)), rev)
	require.Equal(t, len(all), cfg.Len())
	for _, k := range model.Kinds {
		page, err := s.List(ctx, k, listAll)
		require.NoError(t, err)
		require.Len(t, page.Items, 1, "listing %s", k)
	}

	for _, e := range all {
		e.Meta().Tags = append(slices.Clone(e.Meta().Tags), "updated")
		e.Meta().UpdatedAt = stamp + 60
		rev, err := update(t, s, e)
		require.NoError(t, err, "updating %s", e.Kind())
		require.Equal(t, revision(t, s), rev)
		requireStored(t, s, e)
	}

	fresh := service("fresh")
	rev, err = s.Create(ctx, fresh, origin)
	require.NoError(t, err)
	require.Equal(t, int64(2*len(all)+1), rev)
	requireStored(t, s, fresh)

	// Delete in reverse dependency order: nothing cascades or restricts.
	for i := len(all) - 1; i >= 0; i-- {
		before, err := s.Revision(ctx)
		require.NoError(t, err)
		rev, err := s.Delete(ctx, all[i].Kind(), all[i].Meta().ID, store.AnyVersion, origin)
		require.NoError(t, err, "deleting %s", all[i].Kind())
		require.Equal(t, before+1, rev)
		requireAbsent(t, s, all[i])
	}
	cfg, _, err = s.Export(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, cfg.Len())
	require.Equal(t, []*model.Service{fresh}, cfg.Services)
}

// testGet looks entities up by id and by endpoint key.
func testGet(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	all := graph()
	mustCreate(t, s, all...)
	byKind := map[model.Kind]model.Entity{}
	for _, e := range all {
		byKind[e.Kind()] = e
	}
	up := byKind[model.KindUpstream]
	tests := []struct {
		desc string
		kind model.Kind
		key  string
		want model.Entity
	}{
		{"service by name", model.KindService, "orders", byKind[model.KindService]},
		{"route by name", model.KindRoute, "orders-route", byKind[model.KindRoute]},
		{"consumer by username", model.KindConsumer, "alice", byKind[model.KindConsumer]},
		{"upstream by name", model.KindUpstream, "orders.upstream", up},
		{"sni by name", model.KindSNI, "example.com", byKind[model.KindSNI]},
		{"key-auth by key", model.KindKeyAuth, "alice-key", byKind[model.KindKeyAuth]},
		{"basic-auth by username", model.KindBasicAuth, "alice", byKind[model.KindBasicAuth]},
		{"jwt by key", model.KindJWT, "alice-iss", byKind[model.KindJWT]},
		{"hmac-auth by username", model.KindHMACAuth, "alice-hmac", byKind[model.KindHMACAuth]},
		{"oauth2 by client_id", model.KindOAuth2, "alice-app", byKind[model.KindOAuth2]},
		{"key-set by name", model.KindKeySet, "signing", byKind[model.KindKeySet]},
		{"key by name", model.KindKey, "signing-1", byKind[model.KindKey]},
		{"vault by prefix", model.KindVault, "secrets", byKind[model.KindVault]},
		{"target by upstream-scoped target", model.KindTarget, up.Meta().ID + ":10.0.0.1:8000", byKind[model.KindTarget]},
		{"target by target", model.KindTarget, "10.0.0.1:8000", byKind[model.KindTarget]},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := s.Get(ctx, tc.kind, tc.key)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	t.Run("absent id", func(t *testing.T) {
		id := "5b5c2c4e-1111-4222-8333-944445555666"
		_, err := s.Get(ctx, model.KindService, id)
		me := requireCode(t, err, model.CodeNotFound)
		require.Equal(t, `could not find the entity with primary key '{id="`+id+`"}'`, me.Message)
	})
	t.Run("absent name", func(t *testing.T) {
		_, err := s.Get(ctx, model.KindService, "nope")
		me := requireCode(t, err, model.CodeNotFound)
		require.Equal(t, `could not find the entity with '{name="nope"}'`, me.Message)
	})
	t.Run("wrong kind", func(t *testing.T) {
		_, err := s.Get(ctx, model.KindRoute, byKind[model.KindService].Meta().ID)
		requireCode(t, err, model.CodeNotFound)
	})
	t.Run("renamed", func(t *testing.T) {
		svc := service("before")
		mustCreate(t, s, svc)
		svc.Name = model.String("after")
		_, err := update(t, s, svc)
		require.NoError(t, err)
		_, err = s.Get(ctx, model.KindService, "before")
		requireCode(t, err, model.CodeNotFound)
		got, err := s.Get(ctx, model.KindService, "after")
		require.NoError(t, err)
		require.Equal(t, svc.ID, got.Meta().ID)
	})
}
