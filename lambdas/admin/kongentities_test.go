package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
