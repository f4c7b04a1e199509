package admin_test

import (
	"net/http"
	"strings"

	"testing"

	"github.com/stretchr/testify/require"
)

// testLongValues sends values that stores index (names, usernames,
// credential keys, groups) far past any store's key size: each is refused
// with a schema violation that names the field and the bound, and nothing
// is written. Kong's schemas set no bound on these fields; its PostgreSQL
// unique indexes fail on entries past about 2.7 KB (kong/db/schema/typedefs.lua
// utf8_name, kong/db/schema/init.lua for the len_max message).
func testLongValues(t *testing.T, c *client) {
	huge := strings.Repeat("a", 32<<10)
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "alice"})
	c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "svc", "host": "a.internal"})
	tests := []struct {
		desc         string
		method, path string
		body         map[string]any
		field        string
	}{
		{"service name", "POST", "/services", map[string]any{"name": huge, "host": "h.internal"}, "name"},
		{"service name by path", "PUT", "/services/" + huge, map[string]any{"host": "h.internal"}, "name"},
		{"service name by patch", "PATCH", "/services/svc", map[string]any{"name": huge}, "name"},
		{"route name", "POST", "/routes", map[string]any{"name": huge, "paths": []string{"/"}}, "name"},
		{"consumer username", "POST", "/consumers", map[string]any{"username": huge}, "username"},
		{"consumer custom_id", "POST", "/consumers", map[string]any{"custom_id": huge}, "custom_id"},
		{"plugin instance_name", "POST", "/plugins", map[string]any{"name": "key-auth", "instance_name": huge}, "instance_name"},
		{"key-auth key", "POST", "/consumers/alice/key-auth", map[string]any{"key": huge}, "key"},
		{"basic-auth username", "POST", "/consumers/alice/basic-auth", map[string]any{"username": huge, "password": "pw"}, "username"},
		{"jwt key", "POST", "/consumers/alice/jwt", map[string]any{"key": huge}, "key"},
		{"acl group", "POST", "/consumers/alice/acls", map[string]any{"group": huge}, "group"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			rev := c.revision()
			r := c.do(tc.method, tc.path, tc.body)
			requireCode(t, r, http.StatusBadRequest, 2)
			require.Equal(t, map[string]any{tc.field: "length must be at most 512"}, r.body["fields"], "%.300s", r.raw)
			require.Less(t, len(r.raw), 1024, "the answer does not echo the value")
			require.Equal(t, rev, c.revision())
		})
	}
	t.Run("the bound itself", func(t *testing.T) {
		name := strings.Repeat("é", 256)
		c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": name, "host": "h.internal"})
		c.must(http.StatusOK, "GET", "/services/"+name, nil)
		r := c.do("POST", "/services", map[string]any{"name": name + "a", "host": "h.internal"})
		requireCode(t, r, http.StatusBadRequest, 2)
	})
	t.Run("lookups by a long key", func(t *testing.T) {
		for _, path := range []string{"/services/" + huge, "/consumers/" + huge, "/key-auths/" + huge} {
			c.must(http.StatusNotFound, "GET", path, nil)
			c.must(http.StatusNoContent, "DELETE", path, nil)
		}
	})
	t.Run("declarative configuration", func(t *testing.T) {
		rev := c.revision()
		r := c.do("POST", "/config", map[string]any{"config": "_format_version: \"3.0\"\nconsumers:\n- username: " + huge + "\n"})
		require.Equal(t, http.StatusBadRequest, r.status, "%.300s", r.raw)
		require.Contains(t, string(r.raw), "length must be at most 512")
		require.Equal(t, rev, c.revision())
	})
}
