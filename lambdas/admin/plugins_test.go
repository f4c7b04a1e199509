package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/admin"
)

func testPlugins(t *testing.T, c *client) {
	svc := c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "svc", "host": "a.internal"})
	route := c.must(http.StatusCreated, "POST", "/services/svc/routes", map[string]any{"name": "r", "paths": []string{"/"}})
	consumer := c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "alice"})

	rl := c.must(http.StatusCreated, "POST", "/services/svc/plugins",
		map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5}})
	require.Equal(t, map[string]any{"id": svc["id"]}, rl["service"])
	cfg := rl["config"].(map[string]any)
	require.Equal(t, 5.0, cfg["minute"])
	require.Equal(t, "local", cfg["policy"], "schema defaults are filled")

	// PATCH merges the config record.
	p := c.must(http.StatusOK, "PATCH", "/plugins/"+rl["id"].(string), map[string]any{"config": map[string]any{"hour": 100}})
	cfg = p["config"].(map[string]any)
	require.Equal(t, 5.0, cfg["minute"])
	require.Equal(t, 100.0, cfg["hour"])
	require.Equal(t, svc["id"], c.must(http.StatusOK, "GET", "/plugins/"+rl["id"].(string)+"/service", nil)["id"])
	c.must(http.StatusNotFound, "GET", "/plugins/"+rl["id"].(string)+"/route", nil)

	// Form bodies type config fields from the plugin's schema.
	fp := c.must(http.StatusCreated, "POST", "/routes/r/plugins", form("name=rate-limiting&config.second=1&config.minute=10"))
	require.Equal(t, map[string]any{"id": route["id"]}, fp["route"])
	require.Equal(t, 10.0, fp["config"].(map[string]any)["minute"])
	ka := c.must(http.StatusCreated, "POST", "/consumers/alice/plugins",
		form("name=ip-restriction&config.allow[]=10.0.0.1&config.allow[]=10.0.0.2&config.status=401"))
	require.Equal(t, map[string]any{"id": consumer["id"]}, ka["consumer"])
	require.Equal(t, []any{"10.0.0.1", "10.0.0.2"}, ka["config"].(map[string]any)["allow"])
	require.Equal(t, 401.0, ka["config"].(map[string]any)["status"])
	// Authentication plugins cannot be scoped to a consumer, as in Kong.
	c.must(http.StatusBadRequest, "POST", "/consumers/alice/plugins",
		form("name=key-auth&config.key_names[]=k1&config.hide_credentials=true"))
	require.Len(t, c.must(http.StatusOK, "GET", "/services/svc/plugins", nil)["data"], 1)
	require.Len(t, c.must(http.StatusOK, "GET", "/plugins", nil)["data"], 3)

	// One instance of a plugin per scope.
	r := c.do("POST", "/services/svc/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 1}})
	requireCode(t, r, http.StatusConflict, 5)
	r = c.do("POST", "/plugins", map[string]any{"name": "no-such-plugin"})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Contains(t, r.body["fields"], "name")
	r = c.do("POST", "/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": "many"}})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Contains(t, r.body["fields"], "config")

	root := c.must(http.StatusOK, "GET", "/", nil)
	plugins := root["plugins"].(map[string]any)
	require.Equal(t, []any{"ip-restriction", "rate-limiting"}, plugins["enabled_in_cluster"])
	available := plugins["available_on_server"].(map[string]any)
	require.Contains(t, available, "key-auth")
	require.NotZero(t, available["key-auth"].(map[string]any)["priority"])

	// Deleting the service takes its plugins with it.
	c.must(http.StatusNoContent, "DELETE", "/services/svc/routes/r", nil)
	c.must(http.StatusNoContent, "DELETE", "/services/svc", nil)
	c.must(http.StatusNotFound, "GET", "/plugins/"+rl["id"].(string), nil)
}

func TestPluginSchema(t *testing.T) {
	t.Parallel()
	c := newClient(t, openEmbedded(t), admin.Options{})
	fields := c.must(http.StatusOK, "GET", "/schemas/plugins/key-auth", nil)["fields"].([]any)
	var config map[string]any
	for _, f := range fields {
		if d, ok := f.(map[string]any)["config"]; ok {
			config = d.(map[string]any)
		}
	}
	require.Equal(t, "record", config["type"])
	var keyNames map[string]any
	for _, f := range config["fields"].([]any) {
		if d, ok := f.(map[string]any)["key_names"]; ok {
			keyNames = d.(map[string]any)
		}
	}
	require.Equal(t, []any{"apikey"}, keyNames["default"])
}

func TestAvailablePlugins(t *testing.T) {
	t.Parallel()
	c := newClient(t, openEmbedded(t), admin.Options{Plugins: []string{"key-auth"}})
	c.must(http.StatusCreated, "POST", "/plugins", map[string]any{"name": "key-auth"})
	r := c.do("POST", "/plugins", map[string]any{"name": "cors"})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Equal(t, map[string]any{"name": "plugin 'cors' is not supported; supported plugins: key-auth"}, r.body["fields"],
		"names what this deployment runs, not Kong's 'plugins' property")
	c.must(http.StatusNotFound, "GET", "/schemas/plugins/cors", nil)
	root := c.must(http.StatusOK, "GET", "/", nil)
	require.Equal(t, []any{"key-auth"}, root["configuration"].(map[string]any)["plugins"])
	require.Equal(t, map[string]any{"enabled_plugins": []any{"key-auth"}}, c.must(http.StatusOK, "GET", "/plugins/enabled", nil))
}
