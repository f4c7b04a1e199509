package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testCascades deletes entities that others depend on as Kong does: the
// dependents go in the same revision, unrelated entities stay.
func testCascades(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	svc, other := service("svc"), service("other")
	c, keep := consumer("c"), consumer("keep")
	rt := route("rt", svc)
	up := upstream("up")
	cert := certificate()
	ks := keySet("ks")
	mustCreate(t, s, cert, svc, other, rt, c, keep, up, ks)

	tests := []struct {
		desc   string
		root   model.Entity
		gone   []model.Entity
		remain []model.Entity
	}{
		{
			desc: "consumer takes its credentials and plugins",
			root: c,
			gone: []model.Entity{keyAuth("ck", c), basicAuth("cb", c), jwtSecret("cj", c), acl("cg", c),
				hmacAuth("ch", c), oauth2("co", c), plugin("acl", nil, nil, c)},
			remain: []model.Entity{keyAuth("kk", keep), plugin("acl", nil, nil, keep), rt},
		},
		{
			desc:   "route takes its plugins",
			root:   rt,
			gone:   []model.Entity{plugin("cors", nil, rt, nil), plugin("acl", nil, rt, keep)},
			remain: []model.Entity{svc, plugin("cors", other, nil, nil)},
		},
		{
			desc:   "service without routes takes its plugins",
			root:   svc,
			gone:   []model.Entity{plugin("cors", svc, nil, nil), plugin("rate-limiting", svc, nil, keep)},
			remain: []model.Entity{other, keep},
		},
		{
			desc:   "upstream takes its targets",
			root:   up,
			gone:   []model.Entity{target("10.0.0.1:80", up), target("10.0.0.2:80", up)},
			remain: []model.Entity{cert},
		},
		{
			desc:   "key set takes its keys",
			root:   ks,
			gone:   []model.Entity{key("k1", "kid-1", ks), key("k2", "kid-2", ks)},
			remain: []model.Entity{key("free", "kid-1", nil)},
		},
		{
			desc:   "certificate takes its snis",
			root:   cert,
			gone:   []model.Entity{sni("a.example.com", cert), sni("*.example.com", cert)},
			remain: []model.Entity{other},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			mustCreate(t, s, tc.gone...)
			for _, e := range tc.remain {
				if _, err := s.Get(ctx, e.Kind(), e.Meta().ID); err != nil {
					mustCreate(t, s, e)
				}
			}
			before := revision(t, s)
			rev, err := s.Delete(ctx, tc.root.Kind(), tc.root.Meta().ID, store.AnyVersion, origin)
			require.NoError(t, err)
			require.Equal(t, before+1, rev, "a cascade is one revision")
			requireAbsent(t, s, tc.root)
			for _, e := range tc.gone {
				requireAbsent(t, s, e)
			}
			for _, e := range tc.remain {
				requireStored(t, s, e)
			}
		})
	}

	t.Run("absent entity", func(t *testing.T) {
		before := take(t, s)
		rev, err := s.Delete(ctx, model.KindService, service("never").ID, store.AnyVersion, origin)
		require.NoError(t, err)
		require.Equal(t, before.rev, rev)
		requireUnchanged(t, s, before)
	})
	t.Run("large cascade", func(t *testing.T) {
		big := consumer("big")
		deps := []model.Entity{big}
		for i := range 60 {
			deps = append(deps, keyAuth(fmt.Sprintf("big-%02d", i), big), acl(fmt.Sprintf("group-%02d", i), big))
		}
		// Loaded in one ReplaceAll (a few batched requests) rather than
		// one transaction per entity: the delete is what is under test.
		cfg := take(t, s).cfg
		for _, e := range deps {
			cfg.Add(e)
		}
		_, err := s.ReplaceAll(ctx, cfg, origin)
		require.NoError(t, err)
		before := take(t, s)
		require.Equal(t, cfg.Len(), before.cfg.Len())
		rev, err := s.Delete(ctx, model.KindConsumer, big.ID, store.AnyVersion, origin)
		require.NoError(t, err)
		require.Equal(t, before.rev+1, rev, "a cascade is one revision, whatever its size")
		after := take(t, s)
		require.Equal(t, before.cfg.Len()-len(deps), after.cfg.Len())
		for _, e := range deps {
			requireAbsent(t, s, e)
		}
		mustCreate(t, s, keyAuth("big-00", keep))
	})
	t.Run("cascaded credentials free their unique keys", func(t *testing.T) {
		d := consumer("d")
		mustCreate(t, s, d, keyAuth("reused", d))
		_, err := s.Delete(ctx, model.KindConsumer, d.ID, store.AnyVersion, origin)
		require.NoError(t, err)
		mustCreate(t, s, keyAuth("reused", keep))
	})
}

// testRestrict refuses to delete an entity others still point to, with
// Kong's codes and messages, and changes nothing.
func testRestrict(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	svc, cert, ca := service("svc"), certificate(), caCertificate("beef")
	withCert := service("with-cert")
	withCert.ClientCertificate = ref(cert)
	withCA := service("with-ca")
	withCA.CACertificates = []string{ca.ID}
	upCert := certificate()
	up := upstream("up")
	up.ClientCertificate = ref(upCert)
	rt := route("rt", svc)
	mustCreate(t, s, svc, cert, ca, withCert, withCA, upCert, up, rt, plugin("cors", svc, nil, nil))

	tests := []struct {
		desc    string
		root    model.Entity
		code    model.Code
		message string
	}{
		{"service with routes", svc, model.CodeForeignKeyViolation, "an existing 'routes' entity references this 'services' entity"},
		{"certificate of a service", cert, model.CodeForeignKeyViolation, "an existing 'services' entity references this 'certificates' entity"},
		{"certificate of an upstream", upCert, model.CodeForeignKeyViolation, "an existing 'upstreams' entity references this 'certificates' entity"},
		{"ca certificate of a service", ca, model.CodeReferencedByOthers, "ca certificate " + ca.ID + " is still referenced by services (id = " + withCA.ID + ")"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			before := take(t, s)
			_, err := s.Delete(ctx, tc.root.Kind(), tc.root.Meta().ID, store.AnyVersion, origin)
			me := requireCode(t, err, tc.code)
			require.Equal(t, tc.message, me.Message)
			requireUnchanged(t, s, before)
		})
	}

	t.Run("allowed once the referrer is gone", func(t *testing.T) {
		_, err := s.Delete(ctx, model.KindRoute, rt.ID, store.AnyVersion, origin)
		require.NoError(t, err)
		_, err = s.Delete(ctx, model.KindService, svc.ID, store.AnyVersion, origin)
		require.NoError(t, err)
		requireAbsent(t, s, svc)
		page, err := s.List(ctx, model.KindPlugin, store.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, page.Items)
	})
}
