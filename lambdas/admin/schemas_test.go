package admin_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
	"github.com/skyport-gw/skyport/lambdas/admin"
)

// field finds a field's definition in a schema's fields array (Kong's
// format: an array of one-key objects).
func field(fields any, path ...string) map[string]any {
	var def map[string]any
	for _, name := range path {
		def = nil
		for _, f := range fields.([]any) {
			if d, ok := f.(map[string]any)[name]; ok {
				def = d.(map[string]any)
			}
		}
		if def == nil {
			return nil
		}
		fields = def["fields"]
	}
	return def
}

// TestSchemas replays what decK reads to fill defaults: GET /schemas/{entity}
// and /schemas/plugins/{name} in Kong 3.9.3's format
// (kong/api/api_helpers.lua schema_to_jsonable), every default included,
// zero values too (go-kong's FillEntityDefaults and fillConfigRecord).
func TestSchemas(t *testing.T) {
	t.Parallel()
	c := newClient(t, openEmbedded(t), admin.Options{})

	for _, k := range model.Kinds {
		want, err := model.Schema(k)
		require.NoError(t, err)
		r := c.do("GET", "/schemas/"+k.Info().Schema, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.JSONEq(t, string(want), string(r.raw), k)
		require.Contains(t, r.body, "entity_checks", "Kong renders entity_checks, empty or not")
	}
	for _, name := range pluginschema.Names() {
		s, _ := pluginschema.Lookup(name)
		r := c.do("GET", "/schemas/plugins/"+name, nil)
		require.Equal(t, http.StatusOK, r.status)
		require.JSONEq(t, string(s.Doc), string(r.raw), name)
	}

	routes := c.must(http.StatusOK, "GET", "/schemas/routes", nil)["fields"]
	require.Equal(t, map[string]any{"type": "integer", "default": 0.0}, field(routes, "regex_priority"))
	require.Equal(t, "v0", field(routes, "path_handling")["default"])
	require.Contains(t, field(routes, "path_handling")["description"], "always combines them as v0")
	require.Equal(t, map[string]any{"type": "foreign", "reference": "services"}, field(routes, "service"),
		"no foreign schema (kong.lua strip_foreign_schemas)")

	svc := c.must(http.StatusOK, "GET", "/schemas/services", nil)["fields"]
	require.Equal(t, map[string]any{"type": "integer", "default": 80.0, "required": true, "between": []any{0.0, 65535.0}},
		field(svc, "port"))
	require.Nil(t, field(svc, "url"), "the url shorthand is not a field")

	ups := c.must(http.StatusOK, "GET", "/schemas/upstreams", nil)["fields"]
	for _, path := range [][]string{
		{"healthchecks", "active", "healthy", "successes"}, {"healthchecks", "active", "healthy", "interval"},
		{"healthchecks", "active", "unhealthy", "tcp_failures"}, {"healthchecks", "passive", "unhealthy", "timeouts"},
		{"healthchecks", "threshold"},
	} {
		require.Equal(t, 0.0, field(ups, path...)["default"], "%v", path)
	}
	require.Equal(t, 1.0, field(ups, "healthchecks", "active", "timeout")["default"])

	ba := c.must(http.StatusOK, "GET", "/schemas/plugins/basic-auth", nil)["fields"]
	require.Equal(t, "service", field(ba, "config", "realm")["default"])

	rl := c.must(http.StatusOK, "GET", "/schemas/plugins/rate-limiting", nil)["fields"]
	var redisHost map[string]any
	for _, sh := range field(rl, "config")["shorthand_fields"].([]any) {
		if d, ok := sh.(map[string]any)["redis_host"]; ok {
			redisHost = d.(map[string]any)
		}
	}
	require.Equal(t, map[string]any{
		"message":            "rate-limiting: config.redis_host is deprecated, please use config.redis.host instead",
		"removal_in_version": "4.0",
		"replaced_with":      []any{map[string]any{"path": []any{"redis", "host"}}},
	}, redisHost["deprecation"])

	c.must(http.StatusNotFound, "GET", "/schemas/nope", nil)
	require.Equal(t, map[string]any{"message": "No plugin named 'no-such-plugin'"},
		c.must(http.StatusNotFound, "GET", "/schemas/plugins/no-such-plugin", nil))
	c.must(http.StatusOK, "POST", "/schemas/services/validate", map[string]any{"host": "h"})
	r := c.do("POST", "/schemas/services/validate", map[string]any{"port": 1})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Equal(t, "schema violation (host: required field missing)", r.body["message"])
	require.Equal(t, int64(0), c.revision(), "validation writes nothing")
}

// TestSchemaDefaultsMatchStoredPlugins replays decK's diff: the defaults
// it fills from /schemas/plugins/{name} equal the config the Admin API
// stored, so a re-sync changes nothing.
func TestSchemaDefaultsMatchStoredPlugins(t *testing.T) {
	t.Parallel()
	c := newClient(t, openEmbedded(t), admin.Options{})
	p := c.must(http.StatusCreated, "POST", "/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5}})
	cfg := p["config"].(map[string]any)
	doc := c.must(http.StatusOK, "GET", "/schemas/plugins/rate-limiting", nil)["fields"]
	for _, f := range field(doc, "config")["fields"].([]any) {
		for name, d := range f.(map[string]any) {
			def := d.(map[string]any)
			if def["type"] == "record" {
				for _, sub := range def["fields"].([]any) {
					for subName, sd := range sub.(map[string]any) {
						require.Equal(t, sd.(map[string]any)["default"], cfg[name].(map[string]any)[subName], "%s.%s", name, subName)
					}
				}
				continue
			}
			if name != "minute" {
				require.Equal(t, def["default"], cfg[name], name)
			}
		}
	}
	require.Equal(t, []any{"grpc", "grpcs", "http", "https"}, p["protocols"])
	ip := c.must(http.StatusCreated, "POST", "/plugins", map[string]any{"name": "ip-restriction", "config": map[string]any{"allow": []any{"10.0.0.0/8"}}})
	ipDoc := c.must(http.StatusOK, "GET", "/schemas/plugins/ip-restriction", nil)["fields"]
	require.Equal(t, field(ipDoc, "protocols")["default"], ip["protocols"], "each plugin's own default protocols")
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "redis_host", "deprecated shorthands are input only")
}
