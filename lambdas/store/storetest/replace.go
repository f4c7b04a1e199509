package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testReplaceAll replaces a populated store and checks the set is
// validated as a whole.
func testReplaceAll(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	old := graph()
	mustCreate(t, s, old...)
	kept := old[3].(*model.Service)
	kept.Tags = []string{"replaced"}
	kept.ClientCertificate, kept.CACertificates = nil, nil

	c := consumer("new-consumer")
	next := &model.Config{
		Services:  []*model.Service{kept, service("svc-2")},
		Routes:    []*model.Route{route("orders-route", kept)},
		Consumers: []*model.Consumer{c},
		KeyAuths:  []*model.KeyAuth{keyAuth("alice-key", c)},
	}
	before := revision(t, s)
	rev, err := s.ReplaceAll(ctx, next, origin)
	require.NoError(t, err)
	require.Equal(t, before+1, rev)
	next.Sort()
	got := take(t, s)
	require.Equal(t, rev, got.rev)
	require.Equal(t, next, got.cfg)
	for _, e := range old {
		if e.Meta().ID != kept.ID {
			requireAbsent(t, s, e)
		}
	}
	// Unique values and references of the old set are gone with it.
	mustCreate(t, s, consumer("alice"), upstream("orders.upstream"))

	ghost := service("ghost")
	dupID := service("dup-id")
	dupID2 := service("dup-id-2")
	dupID2.ID = dupID.ID
	tests := []struct {
		desc string
		cfg  *model.Config
		code model.Code
	}{
		{"reference outside the set", &model.Config{Routes: []*model.Route{route("r", kept)}}, model.CodeForeignKeyViolation},
		{"reference to nothing", &model.Config{Routes: []*model.Route{route("r", ghost)}}, model.CodeForeignKeyViolation},
		{"duplicate name", &model.Config{Services: []*model.Service{service("x"), service("x")}}, model.CodeUniqueViolation},
		{"duplicate id", &model.Config{Services: []*model.Service{dupID, dupID2}}, model.CodePrimaryKeyViolation},
		{"duplicate key", &model.Config{Consumers: []*model.Consumer{c}, KeyAuths: []*model.KeyAuth{keyAuth("k", c), keyAuth("k", c)}}, model.CodeUniqueViolation},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			before := take(t, s)
			_, err := s.ReplaceAll(ctx, tc.cfg, origin)
			requireCode(t, err, tc.code)
			requireUnchanged(t, s, before)
		})
	}
}

// testReplaceAllLarge replaces the configuration with thousands of
// entities in one revision.
func testReplaceAllLarge(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	mustCreate(t, s, graph()...)
	cfg := &model.Config{}
	for i := range 1000 {
		svc := service(fmt.Sprintf("svc-%04d", i), "bulk")
		cfg.Services = append(cfg.Services, svc)
		cfg.Routes = append(cfg.Routes, route(fmt.Sprintf("route-%04d", i), svc))
	}
	for i := range 500 {
		c := consumer(fmt.Sprintf("consumer-%04d", i))
		cfg.Consumers = append(cfg.Consumers, c)
		cfg.KeyAuths = append(cfg.KeyAuths, keyAuth(fmt.Sprintf("key-%04d", i), c))
	}
	require.Equal(t, 3000, cfg.Len())
	firstConsumer, firstKey := cfg.Consumers[0], cfg.KeyAuths[0]
	before := revision(t, s)
	rev, err := s.ReplaceAll(ctx, cfg, origin)
	require.NoError(t, err)
	require.Equal(t, before+1, rev)
	cfg.Sort()
	got := take(t, s)
	require.Equal(t, rev, got.rev)
	require.Equal(t, cfg, got.cfg)

	changes, err := s.Changes(ctx, before, 10)
	require.NoError(t, err)
	require.Len(t, changes, 1)
	require.Equal(t, rev, changes[0].Revision)

	// The new set is live for ordinary writes and lookups.
	requireStored(t, s, cfg.Routes[500])
	_, err = s.Create(ctx, service("svc-0001"), origin)
	requireCode(t, err, model.CodeUniqueViolation)
	rev2, err := s.Delete(ctx, model.KindConsumer, firstConsumer.ID, store.AnyVersion, origin)
	require.NoError(t, err)
	require.Equal(t, rev+1, rev2)
	requireAbsent(t, s, firstKey)
}
