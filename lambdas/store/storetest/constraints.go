package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// testUnique checks every unique key of every kind, on create and on
// update, and that a failed write changes nothing.
func testUnique(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	alice, bob := consumer("alice"), consumer("bob")
	cert := certificate()
	up1, up2 := upstream("up1"), upstream("up2")
	svc := service("svc")
	mustCreate(t, s, alice, bob, cert, up1, up2, svc)

	tests := []struct {
		desc    string
		first   model.Entity
		second  model.Entity
		message string
	}{
		{"service name", service("dup"), service("dup"), `UNIQUE violation detected on '{name="dup"}'`},
		{"route name", route("dup", nil), route("dup", svc), `UNIQUE violation detected on '{name="dup"}'`},
		{"consumer username", consumer("carol"), consumer("carol"), `UNIQUE violation detected on '{username="carol"}'`},
		{"consumer custom_id", consumerCustomID("c-1"), consumerCustomID("c-1"), `UNIQUE violation detected on '{custom_id="c-1"}'`},
		{"key-auth key", keyAuth("k1", alice), keyAuth("k1", bob), `UNIQUE violation detected on '{key="k1"}'`},
		{"basic-auth username", basicAuth("u1", alice), basicAuth("u1", bob), `UNIQUE violation detected on '{username="u1"}'`},
		{"jwt key", jwtSecret("iss", alice), jwtSecret("iss", bob), `UNIQUE violation detected on '{key="iss"}'`},
		{"sni name", sni("a.example.com", cert), sni("a.example.com", cert), `UNIQUE violation detected on '{name="a.example.com"}'`},
		{"upstream name", upstream("dup.up"), upstream("dup.up"), `UNIQUE violation detected on '{name="dup.up"}'`},
		{"ca certificate digest", caCertificate("abcd"), caCertificate("abcd"), `UNIQUE violation detected on '{cert_digest="abcd"}'`},
		{"target within its upstream", target("10.0.0.9:80", up1), target("10.0.0.9:80", up1),
			`UNIQUE violation detected on '{target="10.0.0.9:80",upstream={id="` + up1.ID + `"}}'`},
		{"acl group within its consumer", acl("g", alice), acl("g", alice),
			`UNIQUE violation detected on '{consumer={id="` + alice.ID + `"},group="g"}'`},
		{"plugin per scope", plugin("cors", svc, nil, nil), plugin("cors", svc, nil, nil),
			`UNIQUE violation detected on '{consumer=null,name="cors",route=null,service={id="` + svc.ID + `"}}'`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			mustCreate(t, s, tc.first)
			before := take(t, s)
			_, err := s.Create(ctx, tc.second, origin)
			me := requireCode(t, err, model.CodeUniqueViolation)
			require.Equal(t, tc.message, me.Message)
			require.NotEmpty(t, me.Fields)
			requireUnchanged(t, s, before)
			// The owner may rewrite itself with the same unique values.
			_, err = update(t, s, tc.first)
			require.NoError(t, err)
		})
	}

	t.Run("same value in another scope", func(t *testing.T) {
		mustCreate(t, s, target("10.0.0.7:80", up1), target("10.0.0.7:80", up2),
			acl("ops", alice), acl("ops", bob),
			plugin("key-auth", nil, nil, nil), plugin("key-auth", svc, nil, nil))
	})
	t.Run("freed by rename", func(t *testing.T) {
		a := service("old-name")
		mustCreate(t, s, a)
		a.Name = model.String("new-name")
		_, err := update(t, s, a)
		require.NoError(t, err)
		mustCreate(t, s, service("old-name"))
		_, err = s.Create(ctx, service("new-name"), origin)
		requireCode(t, err, model.CodeUniqueViolation)
	})
	t.Run("update to a taken value", func(t *testing.T) {
		a, b := service("taken-a"), service("taken-b")
		mustCreate(t, s, a, b)
		before := take(t, s)
		b.Name = model.String("taken-a")
		_, err := update(t, s, b)
		me := requireCode(t, err, model.CodeUniqueViolation)
		require.Equal(t, `UNIQUE violation detected on '{name="taken-a"}'`, me.Message)
		requireUnchanged(t, s, before)
	})
	t.Run("freed by delete", func(t *testing.T) {
		a := consumer("leaver")
		mustCreate(t, s, a)
		_, err := s.Delete(ctx, model.KindConsumer, a.ID, store.AnyVersion, origin)
		require.NoError(t, err)
		mustCreate(t, s, consumer("leaver"))
	})
	t.Run("primary key", func(t *testing.T) {
		a := service("pk")
		mustCreate(t, s, a)
		before := take(t, s)
		b := service("pk-other")
		b.ID = a.ID
		_, err := s.Create(ctx, b, origin)
		me := requireCode(t, err, model.CodePrimaryKeyViolation)
		require.Equal(t, `primary key violation on key '{id="`+a.ID+`"}'`, me.Message)
		requireUnchanged(t, s, before)
	})
}

// testForeignKeys checks that references must exist, on create and update.
func testForeignKeys(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	svc, c, cert := service("svc"), consumer("c"), certificate()
	mustCreate(t, s, svc, c, cert)
	ghost := service("ghost")
	ghostConsumer := consumer("ghost")
	ghostCert := certificate()
	ghostUp := upstream("ghost")

	withCA := service("with-ca")
	withCA.CACertificates = []string{caCertificate("ff").ID}
	tests := []struct {
		desc   string
		entity model.Entity
		field  string
		kind   model.Kind
		id     string
	}{
		{"route to absent service", route("r", ghost), "service", model.KindService, ghost.ID},
		{"plugin to absent consumer", plugin("acl", svc, nil, ghostConsumer), "consumer", model.KindConsumer, ghostConsumer.ID},
		{"key-auth of absent consumer", keyAuth("k", ghostConsumer), "consumer", model.KindConsumer, ghostConsumer.ID},
		{"acl of absent consumer", acl("g", ghostConsumer), "consumer", model.KindConsumer, ghostConsumer.ID},
		{"sni of absent certificate", sni("x.example.com", ghostCert), "certificate", model.KindCertificate, ghostCert.ID},
		{"target of absent upstream", target("10.1.1.1:80", ghostUp), "upstream", model.KindUpstream, ghostUp.ID},
		{"service with absent ca certificate", withCA, "ca_certificates", model.KindCACertificate, withCA.CACertificates[0]},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			before := take(t, s)
			_, err := s.Create(ctx, tc.entity, origin)
			me := requireCode(t, err, model.CodeForeignKeyViolation)
			require.Equal(t, `the foreign key '{id="`+tc.id+`"}' does not reference an existing '`+string(tc.kind)+`' entity.`, me.Message)
			require.Equal(t, map[string]any{tc.field: map[string]any{"id": tc.id}}, me.Fields)
			requireUnchanged(t, s, before)
		})
	}

	t.Run("update to absent reference", func(t *testing.T) {
		r := route("movable", svc)
		mustCreate(t, s, r)
		before := take(t, s)
		r.Service = ref(ghost)
		_, err := update(t, s, r)
		requireCode(t, err, model.CodeForeignKeyViolation)
		requireUnchanged(t, s, before)
		r.Service = ref(svc)
		requireStored(t, s, r)
	})
}
