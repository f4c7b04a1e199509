package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func testNestedCollections(t *testing.T, c *client) {
	svc := c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "svc", "host": "a.internal"})
	other := c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "other", "host": "b.internal"})
	route := c.must(http.StatusCreated, "POST", "/services/svc/routes", map[string]any{"name": "r1", "paths": []string{"/r1"}})
	require.Equal(t, map[string]any{"id": svc["id"]}, route["service"], "the nested path sets the service")
	c.must(http.StatusCreated, "POST", "/services/other/routes", map[string]any{"name": "r2", "paths": []string{"/r2"}})

	list := c.must(http.StatusOK, "GET", "/services/svc/routes", nil)
	require.Len(t, list["data"], 1)
	require.Equal(t, "r1", list["data"].([]any)[0].(map[string]any)["name"])

	for _, path := range []string{"/services/svc/routes/r1", "/services/svc/routes/" + route["id"].(string)} {
		require.Equal(t, route["id"], c.must(http.StatusOK, "GET", path, nil)["id"], path)
	}
	// A route of another service is not found under this one.
	c.must(http.StatusNotFound, "GET", "/services/other/routes/r1", nil)
	c.must(http.StatusNotFound, "GET", "/services/missing/routes", nil)

	// Foreign-entity endpoints.
	require.Equal(t, svc["id"], c.must(http.StatusOK, "GET", "/routes/r1/service", nil)["id"])
	patched := c.must(http.StatusOK, "PATCH", "/routes/r1/service", map[string]any{"retries": 2})
	require.Equal(t, 2.0, patched["retries"])
	require.Equal(t, svc["id"], patched["id"])
	c.must(http.StatusMethodNotAllowed, "DELETE", "/routes/r1/service", nil)
	c.must(http.StatusNotFound, "GET", "/routes/missing/service", nil)

	// PATCH through the nested path keeps the route under its service.
	p := c.must(http.StatusOK, "PATCH", "/services/svc/routes/r1", map[string]any{"service": map[string]any{"id": other["id"]}})
	require.Equal(t, map[string]any{"id": svc["id"]}, p["service"])

	// PUT creates under the parent by name.
	put := c.must(http.StatusOK, "PUT", "/services/svc/routes/r3", map[string]any{"paths": []string{"/r3"}})
	require.Equal(t, "r3", put["name"])
	require.Equal(t, map[string]any{"id": svc["id"]}, put["service"])

	// Deleting under the wrong parent leaves the route alone.
	c.must(http.StatusNoContent, "DELETE", "/services/other/routes/r1", nil)
	c.must(http.StatusOK, "GET", "/routes/r1", nil)
	c.must(http.StatusNoContent, "DELETE", "/services/svc/routes/r1", nil)
	c.must(http.StatusNotFound, "GET", "/routes/r1", nil)
}

func testConsumerCredentials(t *testing.T, c *client) {
	consumer := c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "alice"})
	ref := map[string]any{"id": consumer["id"]}
	tests := []struct {
		desc, nested, top, key string
		body                   map[string]any
	}{
		{"key-auth", "key-auth", "key-auths", "k-1", map[string]any{"key": "k-1"}},
		{"basic-auth", "basic-auth", "basic-auths", "alice-basic", map[string]any{"username": "alice-basic", "password": "pw"}},
		{"jwt", "jwt", "jwts", "iss", map[string]any{"key": "iss"}},
		{"acl by id", "acls", "acls", "", map[string]any{"group": "readers"}},
		{"acl by group", "acls", "acls", "admins", map[string]any{"group": "admins"}},
		{"hmac-auth", "hmac-auth", "hmac-auths", "alice-hmac", map[string]any{"username": "alice-hmac"}},
		{"oauth2", "oauth2", "oauth2", "app-1", map[string]any{"name": "app", "client_id": "app-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cred := c.must(http.StatusCreated, "POST", "/consumers/alice/"+tc.nested, tc.body)
			require.Equal(t, ref, cred["consumer"])
			id := cred["id"].(string)
			key := tc.key
			if key == "" {
				key = id
			}
			require.Equal(t, id, c.must(http.StatusOK, "GET", "/consumers/alice/"+tc.nested+"/"+key, nil)["id"])
			list := c.must(http.StatusOK, "GET", "/consumers/"+consumer["id"].(string)+"/"+tc.nested, nil)
			require.Len(t, list["data"], 1)
			require.Equal(t, consumer["id"], c.must(http.StatusOK, "GET", "/"+tc.top+"/"+id+"/consumer", nil)["id"])
			c.must(http.StatusNoContent, "DELETE", "/consumers/alice/"+tc.nested+"/"+key, nil)
			c.must(http.StatusNotFound, "GET", "/"+tc.top+"/"+id, nil)
		})
	}
}

func testUpstreamTargets(t *testing.T, c *client) {
	up := c.must(http.StatusCreated, "POST", "/upstreams", map[string]any{"name": "up"})
	target := c.must(http.StatusCreated, "POST", "/upstreams/up/targets", map[string]any{"target": "10.0.0.1:8080"})
	require.Equal(t, 100.0, target["weight"])
	require.Equal(t, map[string]any{"id": up["id"]}, target["upstream"])
	c.must(http.StatusOK, "GET", "/upstreams/up/targets/10.0.0.1:8080", nil)
	c.must(http.StatusOK, "PATCH", "/upstreams/up/targets/"+target["id"].(string), map[string]any{"weight": 5})
	require.Len(t, c.must(http.StatusOK, "GET", "/upstreams/up/targets", nil)["data"], 1)
	// Targets live only under upstreams.
	c.must(http.StatusNotFound, "GET", "/targets", nil)
	c.must(http.StatusNotFound, "GET", "/targets/"+target["id"].(string), nil)
	c.must(http.StatusNoContent, "DELETE", "/upstreams/up/targets/10.0.0.1:8080", nil)
	require.Empty(t, c.must(http.StatusOK, "GET", "/upstreams/up/targets", nil)["data"])
}

func testCertificateSNIs(t *testing.T, c *client) {
	cert, key := selfSigned(t, "a.example")
	created := c.must(http.StatusCreated, "POST", "/certificates",
		map[string]any{"cert": cert, "key": key, "snis": []string{"a.example", "b.example"}})
	require.Equal(t, []any{"a.example", "b.example"}, created["snis"])
	id := created["id"].(string)
	require.Len(t, c.must(http.StatusOK, "GET", "/certificates/"+id+"/snis", nil)["data"], 2)
	require.Equal(t, id, c.must(http.StatusOK, "GET", "/snis/a.example/certificate", nil)["id"])
	got := c.must(http.StatusOK, "GET", "/certificates/"+id, nil)
	require.Equal(t, []any{"a.example", "b.example"}, got["snis"])

	patched := c.must(http.StatusOK, "PATCH", "/certificates/"+id, map[string]any{"snis": []string{"b.example"}})
	require.Equal(t, []any{"b.example"}, patched["snis"])
	c.must(http.StatusNotFound, "GET", "/snis/a.example", nil)

	// A name that another certificate serves is a unique violation
	// and creates nothing.
	cert2, key2 := selfSigned(t, "c.example")
	rev := c.revision()
	r := c.do("POST", "/certificates", map[string]any{"cert": cert2, "key": key2, "snis": []string{"b.example"}})
	requireCode(t, r, http.StatusConflict, 5)
	require.Equal(t, rev, c.revision())

	c.must(http.StatusNoContent, "DELETE", "/certificates/"+id, nil)
	c.must(http.StatusNotFound, "GET", "/snis/b.example", nil)
}
