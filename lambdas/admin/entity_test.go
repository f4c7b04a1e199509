package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// entityCase drives the CRUD cycle of one kind.
type entityCase struct {
	desc string
	// coll is the collection path.
	coll string
	// body builds the create body, creating what it needs first.
	body func(t *testing.T, c *client) map[string]any
	// defaults are fields the created entity must show.
	defaults map[string]any
	// key is the endpoint key field ("" when only the id works).
	key string
	// patch changes one field; patched is the expected result.
	patch   map[string]any
	patched map[string]any
}

func consumerRef(t *testing.T, c *client, username string) map[string]any {
	t.Helper()
	b := c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": username})
	return map[string]any{"id": b["id"]}
}

func entityCases() []entityCase {
	return []entityCase{
		{
			desc: "service", coll: "/services", key: "name",
			body:     func(*testing.T, *client) map[string]any { return map[string]any{"name": "svc", "host": "example.com"} },
			defaults: map[string]any{"port": 80.0, "protocol": "http", "retries": 5.0, "connect_timeout": 60000.0, "enabled": true},
			patch:    map[string]any{"url": "https://example.org:9443/v1"},
			patched:  map[string]any{"protocol": "https", "host": "example.org", "port": 9443.0, "path": "/v1"},
		},
		{
			desc: "route", coll: "/routes", key: "name",
			body: func(*testing.T, *client) map[string]any {
				return map[string]any{"name": "rt", "paths": []string{"/a"}}
			},
			defaults: map[string]any{"strip_path": true, "preserve_host": false, "https_redirect_status_code": 426.0,
				"path_handling": "v0", "protocols": []any{"http", "https"}, "regex_priority": 0.0},
			patch:   map[string]any{"hosts": []string{"example.com"}},
			patched: map[string]any{"hosts": []any{"example.com"}, "paths": []any{"/a"}},
		},
		{
			desc: "consumer", coll: "/consumers", key: "username",
			body:    func(*testing.T, *client) map[string]any { return map[string]any{"username": "alice"} },
			patch:   map[string]any{"custom_id": "c-1"},
			patched: map[string]any{"custom_id": "c-1", "username": "alice"},
		},
		{
			desc: "plugin", coll: "/plugins",
			body:     func(*testing.T, *client) map[string]any { return map[string]any{"name": "key-auth"} },
			defaults: map[string]any{"enabled": true, "protocols": []any{"grpc", "grpcs", "http", "https"}},
			patch:    map[string]any{"config": map[string]any{"hide_credentials": true}},
			patched:  map[string]any{"name": "key-auth"},
		},
		{
			desc: "upstream", coll: "/upstreams", key: "name",
			body:     func(*testing.T, *client) map[string]any { return map[string]any{"name": "up.internal"} },
			defaults: map[string]any{"algorithm": "round-robin", "slots": 10000.0, "hash_on": "none"},
			patch:    map[string]any{"healthchecks": map[string]any{"active": map[string]any{"http_path": "/health"}}},
			patched:  map[string]any{"slots": 10000.0},
		},
		{
			desc: "certificate", coll: "/certificates",
			body: func(t *testing.T, _ *client) map[string]any {
				cert, key := selfSigned(t, "cert.example")
				return map[string]any{"cert": cert, "key": key}
			},
			patch:   map[string]any{"tags": []string{"edge"}},
			patched: map[string]any{"tags": []any{"edge"}},
		},
		{
			desc: "sni", coll: "/snis", key: "name",
			body: func(t *testing.T, c *client) map[string]any {
				cert, key := selfSigned(t, "sni.example")
				b := c.must(http.StatusCreated, "POST", "/certificates", map[string]any{"cert": cert, "key": key})
				return map[string]any{"name": "sni.example", "certificate": map[string]any{"id": b["id"]}}
			},
			patch:   map[string]any{"tags": []string{"a"}},
			patched: map[string]any{"tags": []any{"a"}, "name": "sni.example"},
		},
		{
			desc: "ca_certificate", coll: "/ca_certificates",
			body: func(t *testing.T, _ *client) map[string]any {
				cert, _ := selfSigned(t, "ca.example")
				return map[string]any{"cert": cert}
			},
			patch:   map[string]any{"tags": []string{"ca"}},
			patched: map[string]any{"tags": []any{"ca"}},
		},
		{
			desc: "key-auth", coll: "/key-auths", key: "key",
			body: func(t *testing.T, c *client) map[string]any {
				return map[string]any{"key": "secret-key-1", "consumer": consumerRef(t, c, "ka")}
			},
			patch:   map[string]any{"tags": []string{"x"}},
			patched: map[string]any{"key": "secret-key-1"},
		},
		{
			desc: "basic-auth", coll: "/basic-auths", key: "username",
			body: func(t *testing.T, c *client) map[string]any {
				return map[string]any{"username": "bob", "password": "hunter2", "consumer": consumerRef(t, c, "ba")}
			},
			patch:   map[string]any{"tags": []string{"x"}},
			patched: map[string]any{"username": "bob"},
		},
		{
			desc: "jwt", coll: "/jwts", key: "key",
			body: func(t *testing.T, c *client) map[string]any {
				return map[string]any{"key": "iss-1", "consumer": consumerRef(t, c, "jw")}
			},
			defaults: map[string]any{"algorithm": "HS256"},
			patch:    map[string]any{"secret": "s3cr3t"},
			patched:  map[string]any{"secret": "s3cr3t", "key": "iss-1"},
		},
		{
			desc: "acl", coll: "/acls",
			body: func(t *testing.T, c *client) map[string]any {
				return map[string]any{"group": "admins", "consumer": consumerRef(t, c, "acl")}
			},
			patch:   map[string]any{"group": "ops"},
			patched: map[string]any{"group": "ops"},
		},
	}
}

func requireFields(t *testing.T, want, got map[string]any) {
	t.Helper()
	for k, v := range want {
		require.Equal(t, v, got[k], "field %s in %v", k, got)
	}
}

func testEntityCRUD(t *testing.T, c *client) {
	for _, tc := range entityCases() {
		t.Run(tc.desc, func(t *testing.T) {
			body := tc.body(t, c)
			rev := c.revision()
			created := c.must(http.StatusCreated, "POST", tc.coll, body)
			require.Equal(t, rev+1, c.revision(), "a create raises the revision by one")
			requireFields(t, tc.defaults, created)
			id, _ := created["id"].(string)
			require.Len(t, id, 36)
			require.Equal(t, float64(fixedNow.Unix()), created["created_at"])
			require.Equal(t, float64(fixedNow.Unix()), created["updated_at"])

			got := c.must(http.StatusOK, "GET", tc.coll+"/"+id, nil)
			require.Equal(t, created, got)
			if tc.key != "" {
				byKey := c.must(http.StatusOK, "GET", tc.coll+"/"+created[tc.key].(string), nil)
				require.Equal(t, id, byKey["id"])
			}

			patched := c.must(http.StatusOK, "PATCH", tc.coll+"/"+id, tc.patch)
			requireFields(t, tc.patched, patched)
			require.Equal(t, id, patched["id"])
			require.Equal(t, created["created_at"], patched["created_at"])

			// PUT by id replaces with the body: defaults come back.
			put := c.must(http.StatusOK, "PUT", tc.coll+"/"+id, body)
			require.Equal(t, id, put["id"])
			requireFields(t, tc.defaults, put)

			list := c.must(http.StatusOK, "GET", tc.coll, nil)
			require.NotEmpty(t, list["data"])
			require.Nil(t, list["next"])

			c.must(http.StatusNoContent, "DELETE", tc.coll+"/"+id, nil)
			rev = c.revision()
			c.must(http.StatusNoContent, "DELETE", tc.coll+"/"+id, nil)
			require.Equal(t, rev, c.revision(), "deleting an absent entity changes nothing")
			r := c.do("GET", tc.coll+"/"+id, nil)
			require.Equal(t, http.StatusNotFound, r.status)
			require.Equal(t, map[string]any{"message": "Not found"}, r.body)

			// PUT by a new id creates with that id.
			newID := "0b7e8d4a-8f43-4bd4-9a86-4f5bd4c9f1aa"
			put = c.must(http.StatusOK, "PUT", tc.coll+"/"+newID, body)
			require.Equal(t, newID, put["id"])
			c.must(http.StatusNoContent, "DELETE", tc.coll+"/"+newID, nil)
		})
	}
}

func testPutByEndpointKey(t *testing.T, c *client) {
	created := c.must(http.StatusOK, "PUT", "/services/billing", map[string]any{"host": "billing.internal"})
	require.Equal(t, "billing", created["name"])
	id := created["id"]

	replaced := c.must(http.StatusOK, "PUT", "/services/billing", map[string]any{"host": "billing2.internal", "port": 8080})
	require.Equal(t, id, replaced["id"], "PUT by name keeps the id")
	require.Equal(t, "billing2.internal", replaced["host"])
	require.Equal(t, created["created_at"], replaced["created_at"])

	r := c.do("PUT", "/services/billing", map[string]any{"name": "other", "host": "x"})
	requireCode(t, r, http.StatusBadRequest, 2)
	r = c.do("PUT", "/services/billing", map[string]any{"id": "0b7e8d4a-8f43-4bd4-9a86-4f5bd4c9f1aa", "host": "x"})
	requireCode(t, r, http.StatusBadRequest, 2)
	r = c.do("PUT", "/acls/not-a-uuid", map[string]any{"group": "g"})
	requireCode(t, r, http.StatusBadRequest, 1)

	c.must(http.StatusNoContent, "DELETE", "/services/billing", nil)
	c.must(http.StatusNoContent, "DELETE", "/services/billing", nil)
}

func testBasicAuthPasswordIsHashed(t *testing.T, c *client) {
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "bob"})
	b := c.must(http.StatusCreated, "POST", "/consumers/bob/basic-auth", map[string]any{"username": "bob", "password": "hunter2"})
	hash, _ := b["password"].(string)
	require.NotEqual(t, "hunter2", hash)
	require.Len(t, hash, 60)
	// A PATCH that leaves the password alone does not hash the hash.
	p := c.must(http.StatusOK, "PATCH", "/basic-auths/bob", map[string]any{"tags": []string{"t"}})
	require.Equal(t, hash, p["password"])
}

func testGeneratedCredentials(t *testing.T, c *client) {
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "gen"})
	k := c.must(http.StatusCreated, "POST", "/consumers/gen/key-auth", nil)
	require.Len(t, k["key"], 32)
	j := c.must(http.StatusCreated, "POST", "/consumers/gen/jwt", map[string]any{})
	require.Len(t, j["key"], 32)
	require.Len(t, j["secret"], 32)
}
