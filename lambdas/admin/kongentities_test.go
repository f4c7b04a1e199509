package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

// testACLByGroup serves /consumers/{c}/acls/{group} as
// kong/plugins/acl/api.lua does: the group stands for the id under its
// consumer, and PUT creates the membership it names.
func testACLByGroup(t *testing.T, c *client) {
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "alice"})
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "bob"})
	put := c.must(http.StatusOK, "PUT", "/consumers/alice/acls/admins", map[string]any{"tags": []string{"t"}})
	require.Equal(t, "admins", put["group"])
	c.must(http.StatusCreated, "POST", "/consumers/bob/acls", map[string]any{"group": "admins"})

	require.Equal(t, put["id"], c.must(http.StatusOK, "GET", "/consumers/alice/acls/admins", nil)["id"])
	patched := c.must(http.StatusOK, "PATCH", "/consumers/alice/acls/admins", map[string]any{"tags": []string{"u"}})
	require.Equal(t, []any{"u"}, patched["tags"])
	c.must(http.StatusNotFound, "GET", "/consumers/alice/acls/readers", nil)
	c.must(http.StatusNotFound, "PATCH", "/consumers/alice/acls/readers", map[string]any{"tags": []string{"u"}})
	// The group is not an endpoint key at the top level.
	c.must(http.StatusNotFound, "GET", "/acls/admins", nil)

	c.must(http.StatusNoContent, "DELETE", "/consumers/alice/acls/admins", nil)
	c.must(http.StatusNotFound, "GET", "/consumers/alice/acls/admins", nil)
	c.must(http.StatusNotFound, "GET", "/acls/"+put["id"].(string), nil)
	// Bob's membership of the same group is another entity.
	require.Len(t, c.must(http.StatusOK, "GET", "/consumers/bob/acls", nil)["data"], 1)
}

func testHMACAndOAuth2(t *testing.T, c *client) {
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "alice"})
	h := c.must(http.StatusCreated, "POST", "/consumers/alice/hmac-auth", map[string]any{"username": "alice-hmac"})
	require.Len(t, h["secret"], 32, "the secret is generated")
	require.Equal(t, h["id"], c.must(http.StatusOK, "GET", "/hmac-auths/alice-hmac", nil)["id"])
	r := c.do("POST", "/consumers/alice/hmac-auth", map[string]any{"username": "alice-hmac"})
	requireCode(t, r, http.StatusConflict, 5)
	r = c.do("POST", "/consumers/alice/hmac-auth", map[string]any{})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Equal(t, "required field missing", r.body["fields"].(map[string]any)["username"])

	o := c.must(http.StatusCreated, "POST", "/consumers/alice/oauth2", map[string]any{
		"name": "app", "redirect_uris": []string{"https://app.example.com/cb"}})
	require.Len(t, o["client_id"], 32)
	require.Len(t, o["client_secret"], 32)
	require.Equal(t, "confidential", o["client_type"])
	require.Equal(t, false, o["hash_secret"])
	require.Equal(t, o["id"], c.must(http.StatusOK, "GET", "/oauth2/"+o["client_id"].(string), nil)["id"])

	hashed := c.must(http.StatusCreated, "POST", "/oauth2", map[string]any{
		"name": "hashed", "client_secret": "plain", "hash_secret": true, "consumer": map[string]any{"username": "alice"}})
	require.NotEqual(t, "plain", hashed["client_secret"], "a hashed secret is not stored in the clear")
	require.True(t, strings.HasPrefix(hashed["client_secret"].(string), "$2"))

	r = c.do("POST", "/consumers/alice/oauth2", map[string]any{
		"name": "bad", "redirect_uris": []string{"not a uri", "https://x.example.com/#frag"}, "client_type": "other"})
	requireCode(t, r, http.StatusBadRequest, 2)
	fields := r.body["fields"].(map[string]any)
	require.Equal(t, []any{"cannot parse 'not a uri'", "fragment not allowed in 'https://x.example.com/#frag'"}, fields["redirect_uris"])
	require.Equal(t, "expected one of: confidential, public", fields["client_type"])

	// Deleting the consumer takes its credentials.
	c.must(http.StatusNoContent, "DELETE", "/consumers/alice", nil)
	c.must(http.StatusNotFound, "GET", "/hmac-auths/alice-hmac", nil)
	c.must(http.StatusNotFound, "GET", "/oauth2/"+o["id"].(string), nil)
}

const jwkOct = `{"kty":"oct","kid":"kid-1","k":"c2VjcmV0"}`

func testKeysAndKeySets(t *testing.T, c *client) {
	ks := c.must(http.StatusCreated, "POST", "/key-sets", map[string]any{"name": "signing"})
	k := c.must(http.StatusCreated, "POST", "/key-sets/signing/keys", map[string]any{"name": "k1", "kid": "kid-1", "jwk": jwkOct})
	require.Equal(t, map[string]any{"id": ks["id"]}, k["set"])
	require.Nil(t, k["pem"])
	require.Equal(t, k["id"], c.must(http.StatusOK, "GET", "/keys/k1", nil)["id"])
	require.Equal(t, ks["id"], c.must(http.StatusOK, "GET", "/keys/k1/set", nil)["id"])
	require.Len(t, c.must(http.StatusOK, "GET", "/key-sets/signing/keys", nil)["data"], 1)

	// The set is sent as an object, by name, as decK sends it.
	c.must(http.StatusCreated, "POST", "/keys", map[string]any{"kid": "kid-2", "set": map[string]any{"name": "signing"},
		"jwk": strings.ReplaceAll(jwkOct, "kid-1", "kid-2")})
	// kid is unique within a set (Kong's cache key), not across sets.
	requireCode(t, c.do("POST", "/key-sets/signing/keys", map[string]any{"kid": "kid-1", "jwk": jwkOct}), http.StatusConflict, 5)
	c.must(http.StatusCreated, "POST", "/keys", map[string]any{"kid": "kid-1", "jwk": jwkOct})

	tests := []struct {
		desc string
		body map[string]any
		want map[string]any
	}{
		{"neither", map[string]any{"kid": "x"},
			map[string]any{"@entity": []any{"at least one of these fields must be non-empty: 'jwk', 'pem'"}}},
		{"both", map[string]any{"kid": "x", "jwk": jwkOct, "pem": map[string]any{"public_key": "x"}},
			map[string]any{"@entity": []any{"only one or none of these fields must be set: 'jwk', 'pem'"}}},
		{"kid differs", map[string]any{"kid": "x", "jwk": jwkOct},
			map[string]any{"@entity": []any{"kid in jwk.kid must be equal to keys.kid"}}},
		{"not json", map[string]any{"kid": "x", "jwk": "{"},
			map[string]any{"@entity": []any{"could not json decode jwk string"}}},
		{"bad pem", map[string]any{"kid": "x", "pem": map[string]any{"public_key": "nope"}},
			map[string]any{"pem": "could not load public key"}},
		{"no kid", map[string]any{"jwk": jwkOct}, map[string]any{"kid": "required field missing"}},
	}
	for _, tc := range tests {
		r := c.do("POST", "/keys", tc.body)
		requireCode(t, r, http.StatusBadRequest, 2)
		require.Equal(t, tc.want, r.body["fields"], tc.desc)
	}

	// A vault reference is not checked as a key.
	c.must(http.StatusCreated, "POST", "/keys", map[string]any{"kid": "ref", "pem": map[string]any{"private_key": "{vault://env/signing-key}"}})

	c.must(http.StatusNoContent, "DELETE", "/key-sets/signing", nil)
	c.must(http.StatusNotFound, "GET", "/keys/k1", nil)
}

func testVaults(t *testing.T, c *client) {
	v := c.must(http.StatusCreated, "POST", "/vaults", map[string]any{"prefix": "my-env", "name": "env",
		"config": map[string]any{"prefix": "SKYPORT_"}})
	require.Equal(t, map[string]any{"prefix": "SKYPORT_"}, v["config"])
	require.Equal(t, v["id"], c.must(http.StatusOK, "GET", "/vaults/my-env", nil)["id"])
	put := c.must(http.StatusOK, "PUT", "/vaults/other", map[string]any{"name": "env"})
	require.Equal(t, map[string]any{"prefix": nil}, put["config"])

	tests := []struct {
		desc string
		body map[string]any
		want map[string]any
	}{
		{"bundled name as prefix", map[string]any{"prefix": "env", "name": "env"}, map[string]any{"prefix": "must not be one of: env"}},
		{"bad prefix", map[string]any{"prefix": "Bad_Prefix", "name": "env"}, map[string]any{"prefix": "invalid value: Bad_Prefix"}},
		{"unknown vault", map[string]any{"prefix": "aws-1", "name": "aws"}, map[string]any{"name": "vault 'aws' is not installed"}},
		{"bad env prefix", map[string]any{"prefix": "p1", "name": "env", "config": map[string]any{"prefix": "1X"}},
			map[string]any{"config": map[string]any{"prefix": "invalid value: 1X"}}},
	}
	for _, tc := range tests {
		r := c.do("POST", "/vaults", tc.body)
		requireCode(t, r, http.StatusBadRequest, 2)
		require.Equal(t, tc.want, r.body["fields"], tc.desc)
	}
	requireCode(t, c.do("POST", "/vaults", map[string]any{"prefix": "my-env", "name": "env"}), http.StatusConflict, 5)
}

func testTags(t *testing.T, c *client) {
	svc := c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "s", "host": "h.internal", "tags": []string{"a", "b"}})
	cons := c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "u", "tags": []string{"a"}})
	ks := c.must(http.StatusCreated, "POST", "/key-sets", map[string]any{"name": "ks", "tags": []string{"b"}})
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "untagged"})

	row := func(kind string, e map[string]any, tag string) any {
		return map[string]any{"entity_name": kind, "entity_id": e["id"], "tag": tag}
	}
	byA := c.must(http.StatusOK, "GET", "/tags/a", nil)
	require.ElementsMatch(t, []any{row("services", svc, "a"), row("consumers", cons, "a")}, byA["data"])
	require.Nil(t, byA["next"])
	require.Nil(t, byA["offset"])

	// Every row, a page of one at a time.
	var got []any
	path := "/tags?size=1"
	for range 10 {
		page := c.must(http.StatusOK, "GET", path, nil)
		require.LessOrEqual(t, len(page["data"].([]any)), 1)
		got = append(got, page["data"].([]any)...)
		if page["next"] == nil {
			break
		}
		path = page["next"].(string)
		require.Contains(t, path, "size=1")
	}
	require.ElementsMatch(t, []any{row("services", svc, "a"), row("services", svc, "b"),
		row("consumers", cons, "a"), row("key_sets", ks, "b")}, got)

	require.Empty(t, c.must(http.StatusOK, "GET", "/tags/none", nil)["data"])
	requireCode(t, c.do("GET", "/tags?offset=!!", nil), http.StatusBadRequest, 7)
	requireCode(t, c.do("GET", "/tags?size=0", nil), http.StatusBadRequest, 9)
	c.must(http.StatusMethodNotAllowed, "POST", "/tags", map[string]any{})
}

func testPluginByInstanceName(t *testing.T, c *client) {
	c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "s", "host": "h.internal"})
	p := c.must(http.StatusCreated, "POST", "/services/s/plugins", map[string]any{"name": "cors", "instance_name": "my-cors"})
	require.Equal(t, p["id"], c.must(http.StatusOK, "GET", "/plugins/my-cors", nil)["id"])
	require.Equal(t, p["id"], c.must(http.StatusOK, "GET", "/services/s/plugins/my-cors", nil)["id"])
	patched := c.must(http.StatusOK, "PATCH", "/plugins/my-cors", map[string]any{"enabled": false})
	require.Equal(t, false, patched["enabled"])
	put := c.must(http.StatusOK, "PUT", "/plugins/global-cors", map[string]any{"name": "cors"})
	require.Equal(t, "global-cors", put["instance_name"])
	c.must(http.StatusNoContent, "DELETE", "/plugins/my-cors", nil)
	c.must(http.StatusNotFound, "GET", "/plugins/my-cors", nil)
}

// testKeyAuthTTL: a key-auth credential answers the seconds it has left,
// disappears once expired and is then removed from the store.
func testKeyAuthTTL(t *testing.T, c *client) {
	now := fixedNow
	clocked := newClient(t, c.store, admin.Options{Now: func() time.Time { return now }})
	clocked.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "alice"})
	k := clocked.must(http.StatusCreated, "POST", "/consumers/alice/key-auth", map[string]any{"key": "temp", "ttl": 100})
	require.Equal(t, 100.0, k["ttl"])

	now = now.Add(40 * time.Second)
	require.Equal(t, 60.0, clocked.must(http.StatusOK, "GET", "/key-auths/temp", nil)["ttl"])
	list := clocked.must(http.StatusOK, "GET", "/consumers/alice/key-auth", nil)["data"].([]any)
	require.Equal(t, 60.0, list[0].(map[string]any)["ttl"])
	// A PATCH without a ttl keeps the expiry; one with a ttl restarts it.
	require.Equal(t, 60.0, clocked.must(http.StatusOK, "PATCH", "/key-auths/temp", map[string]any{"tags": []string{"x"}})["ttl"])
	require.Equal(t, 100.0, clocked.must(http.StatusOK, "PATCH", "/key-auths/temp", map[string]any{"ttl": 100})["ttl"])

	other := clocked.must(http.StatusCreated, "POST", "/consumers/alice/key-auth", map[string]any{"key": "listed", "ttl": 50})

	now = now.Add(100 * time.Second)
	// A listing leaves out, and removes, what expired.
	require.Empty(t, clocked.must(http.StatusOK, "GET", "/key-auths", nil)["data"])
	for _, id := range []any{k["id"], other["id"]} {
		_, err := c.store.Get(context.Background(), model.KindKeyAuth, id.(string))
		require.Error(t, err, "the expired credential is removed")
	}
	clocked.must(http.StatusNotFound, "GET", "/key-auths/temp", nil)
	// Its key is free again.
	clocked.must(http.StatusCreated, "POST", "/consumers/alice/key-auth", map[string]any{"key": "temp"})
}

// testUpstreamHealth answers as Kong's control plane: targets without a
// health state, and no healthy/unhealthy endpoints.
func testUpstreamHealth(t *testing.T, c *client) {
	c.must(http.StatusCreated, "POST", "/upstreams", map[string]any{"name": "up"})
	tg := c.must(http.StatusCreated, "POST", "/upstreams/up/targets", map[string]any{"target": "10.0.0.1:80"})
	c.must(http.StatusCreated, "POST", "/upstreams/up/targets", map[string]any{"target": "10.0.0.2:80", "weight": 0})

	health := c.must(http.StatusOK, "GET", "/upstreams/up/health", nil)
	require.Len(t, health["data"], 2)
	require.Contains(t, health, "node_id")
	require.Nil(t, health["next"])
	for _, d := range health["data"].([]any) {
		require.NotContains(t, d, "health", "a control plane has no balancer to ask")
	}
	paged := c.must(http.StatusOK, "GET", "/upstreams/up/health?size=1", nil)
	require.Len(t, paged["data"], 1)
	require.NotNil(t, paged["next"])
	require.Len(t, c.must(http.StatusOK, "GET", paged["next"].(string), nil)["data"], 1)

	bh := c.must(http.StatusOK, "GET", "/upstreams/up/health?balancer_health=1", nil)
	require.NotContains(t, bh, "data")
	require.Len(t, c.must(http.StatusOK, "GET", "/upstreams/up/targets/all", nil)["data"], 2)
	c.must(http.StatusNotFound, "GET", "/upstreams/nope/health", nil)

	for _, p := range []string{"/targets/10.0.0.1:80/healthy", "/targets/" + tg["id"].(string) + "/unhealthy",
		"/targets/10.0.0.1:80/10.0.0.1:80/healthy"} {
		r := c.do("PUT", "/upstreams/up"+p, nil)
		require.Equal(t, http.StatusNotFound, r.status, p)
		require.Equal(t, map[string]any{"message": "Not found"}, r.body, p)
	}
}

func testOAuth2PluginRefused(t *testing.T, c *client) {
	r := c.do("POST", "/plugins", map[string]any{"name": "oauth2", "config": map[string]any{"enable_password_grant": true}})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Contains(t, r.body["fields"].(map[string]any)["name"], "incompatible with hybrid mode")
	r = c.do("POST", "/plugins", map[string]any{"name": "hmac-auth"})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	require.Equal(t, []any{"hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"}, r.body["config"].(map[string]any)["algorithms"])
}

func testEndpointsAndVaultSchemas(t *testing.T, c *client) {
	list := c.must(http.StatusOK, "GET", "/endpoints", nil)["data"].([]any)
	for _, want := range []string{"/", "/consumers/{consumers}/hmac-auth/{hmacauth_credentials}", "/oauth2/{oauth2_credentials}",
		"/key-sets/{key_sets}/keys", "/keys/{keys}/set", "/vaults/{vaults}", "/tags/{tags}", "/upstreams/{upstreams}/health"} {
		require.Contains(t, list, want)
	}
	// Kong sorts segment by segment.
	require.Less(t, indexOf(list, "/consumers/{consumers}"), indexOf(list, "/consumers/{consumers}/acls"))
	require.Less(t, indexOf(list, "/key-sets/{key_sets}/keys/{keys}"), indexOf(list, "/keys"))
	// Every endpoint without a parameter that answers GET is served.
	for _, e := range list {
		p := e.(string)
		if strings.Contains(p, "{") || strings.HasSuffix(p, "/validate") {
			continue
		}
		r := c.do("GET", p, nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", p, r.raw)
	}

	tagsDoc := c.must(http.StatusOK, "GET", "/schemas/tags", nil)
	require.Len(t, tagsDoc["fields"], 3)

	env := c.must(http.StatusOK, "GET", "/schemas/vaults/env", nil)
	require.Equal(t, "record", env["fields"].([]any)[0].(map[string]any)["config"].(map[string]any)["type"])
	r := c.do("GET", "/schemas/vaults/aws", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, "No vault named 'aws'", r.body["message"])
	c.must(http.StatusOK, "POST", "/schemas/vaults/validate", map[string]any{"prefix": "my-env", "name": "env"})
	requireCode(t, c.do("POST", "/schemas/vaults/validate", map[string]any{"prefix": "env", "name": "env"}), http.StatusBadRequest, 2)
}

func indexOf(list []any, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// TestUpstreamHealthFromDataPlanes: the health of an upstream's targets is
// what the data plane seen last among those reporting it reported.
func TestUpstreamHealthFromDataPlanes(t *testing.T) {
	t.Parallel()
	up := "6f0d2b7e-3f7e-4c1a-9d3e-2b1f4c5d6e7f"
	other := "0a0b0c0d-0e0f-4a1b-8c2d-3e4f5a6b7c8d"
	expires := time.Now().Add(time.Hour).Unix()
	nodes := []cluster.Node{
		{NodeID: "dp-old", LastSeen: 100, ExpiresAt: expires, Health: []protocol.TargetHealth{
			{UpstreamID: up, Target: "10.0.0.1:80", Health: protocol.HealthHealthy}}},
		{NodeID: "dp-new", LastSeen: 200, ExpiresAt: expires, Health: []protocol.TargetHealth{
			{UpstreamID: up, Target: "10.0.0.1:80", Health: protocol.HealthUnhealthy},
			{UpstreamID: up, Target: "10.0.0.2:80", Health: protocol.HealthHealthy}}},
		{NodeID: "dp-elsewhere", LastSeen: 300, ExpiresAt: expires, Health: []protocol.TargetHealth{
			{UpstreamID: other, Target: "10.9.9.9:80", Health: protocol.HealthOff}}},
	}
	c := newClient(t, openEmbedded(t), admin.Options{DataPlanes: registryWith(t, nodes...), NodeID: "cp-node"})
	c.must(http.StatusOK, "PUT", "/upstreams/"+up, map[string]any{"name": "up"})
	for _, tg := range []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"} {
		c.must(http.StatusCreated, "POST", "/upstreams/up/targets", map[string]any{"target": tg})
	}
	body := c.must(http.StatusOK, "GET", "/upstreams/up/health", nil)
	require.Equal(t, "dp-new", body["node_id"])
	got := map[string]any{}
	for _, d := range body["data"].([]any) {
		m := d.(map[string]any)
		got[m["target"].(string)] = m["health"]
	}
	require.Equal(t, map[string]any{"10.0.0.1:80": "UNHEALTHY", "10.0.0.2:80": "HEALTHY", "10.0.0.3:80": nil}, got)

	// An upstream no data plane reports: no health, this node's id.
	c.must(http.StatusCreated, "POST", "/upstreams", map[string]any{"name": "quiet"})
	quiet := c.must(http.StatusOK, "GET", "/upstreams/quiet/health", nil)
	require.Equal(t, "cp-node", quiet["node_id"])
}
