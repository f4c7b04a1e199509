package admin_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

func TestRoot(t *testing.T) {
	t.Parallel()
	c := newClient(t, openEmbedded(t), admin.Options{
		NodeID: "node-1", Hostname: "cp.local", Version: "3.9.1", Database: "embedded",
	})
	b := c.must(http.StatusOK, "GET", "/", nil)
	require.Equal(t, "3.9.1", b["version"])
	require.Equal(t, "Welcome to kong", b["tagline"])
	require.Equal(t, "node-1", b["node_id"])
	require.Equal(t, "cp.local", b["hostname"])
	require.NotContains(t, b, "lua_version")
	conf := b["configuration"].(map[string]any)
	require.Equal(t, "embedded", conf["database"])
	require.Equal(t, "control_plane", conf["role"])
	plugins := b["plugins"].(map[string]any)
	require.Contains(t, plugins, "available_on_server")
	require.Equal(t, []any{}, plugins["enabled_in_cluster"])
}

func testStatus(t *testing.T, c *client) {
	b := c.must(http.StatusOK, "GET", "/status", nil)
	require.Equal(t, map[string]any{"reachable": true}, b["database"])
	require.Equal(t, strings.Repeat("0", 32), b["configuration_hash"], "the empty configuration")
	require.Contains(t, b["server"], "total_requests")

	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "a"})
	b = c.must(http.StatusOK, "GET", "/status", nil)
	require.Len(t, b["configuration_hash"], 32)
	require.NotEqual(t, strings.Repeat("0", 32), b["configuration_hash"])
}

func TestSchemas(t *testing.T) {
	t.Parallel()
	c := newClient(t, openEmbedded(t), admin.Options{})
	field := func(fields []any, name string) map[string]any {
		for _, f := range fields {
			if d, ok := f.(map[string]any)[name]; ok {
				return d.(map[string]any)
			}
		}
		return nil
	}
	svc := c.must(http.StatusOK, "GET", "/schemas/services", nil)["fields"].([]any)
	require.Equal(t, map[string]any{"type": "integer", "default": 80.0}, field(svc, "port"))
	require.Equal(t, true, field(svc, "host")["required"])
	require.Nil(t, field(svc, "url"), "the url shorthand is not a field")
	require.Equal(t, map[string]any{"type": "string", "uuid": true, "auto": true}, field(svc, "id"))

	routes := c.must(http.StatusOK, "GET", "/schemas/routes", nil)["fields"].([]any)
	require.Equal(t, map[string]any{"type": "foreign", "reference": "services"}, field(routes, "service"))
	require.Equal(t, []any{"http", "https"}, field(routes, "protocols")["default"])
	require.Contains(t, field(routes, "path_handling")["description"], "always combines them as v0")

	ups := c.must(http.StatusOK, "GET", "/schemas/upstreams", nil)["fields"].([]any)
	hc := field(ups, "healthchecks")
	require.Equal(t, "record", hc["type"])
	active := field(hc["fields"].([]any), "active")
	require.Equal(t, map[string]any{"type": "string", "default": "/"}, field(active["fields"].([]any), "http_path"))

	for _, name := range []string{"consumers", "plugins", "targets", "certificates", "snis", "ca_certificates",
		"keyauth_credentials", "basicauth_credentials", "jwt_secrets", "acls"} {
		require.NotEmpty(t, c.must(http.StatusOK, "GET", "/schemas/"+name, nil)["fields"], name)
	}
	c.must(http.StatusNotFound, "GET", "/schemas/nope", nil)
	c.must(http.StatusNotFound, "GET", "/schemas/plugins/no-such-plugin", nil)

	c.must(http.StatusOK, "POST", "/schemas/services/validate", map[string]any{"host": "h"})
	r := c.do("POST", "/schemas/services/validate", map[string]any{"port": 1})
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Equal(t, int64(0), c.revision(), "validation writes nothing")
}

// failingDataPlanes is a registry that cannot be read.
type failingDataPlanes struct{}

func (failingDataPlanes) ListDataPlanes(context.Context, cluster.ListOptions) (cluster.DataPlanePage, error) {
	return cluster.DataPlanePage{}, errors.New("table unavailable")
}

// registryWith returns an in-process registry holding nodes.
func registryWith(t *testing.T, nodes ...cluster.Node) *cluster.Memory {
	t.Helper()
	reg := cluster.NewMemory(nil)
	for _, n := range nodes {
		require.NoError(t, reg.PutNode(context.Background(), n))
	}
	return reg
}

func TestClustering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		dps    admin.DataPlanes
		status int
		count  int
	}{
		{"no cluster", nil, http.StatusOK, 0},
		{"two data planes", registryWith(t,
			cluster.Node{NodeID: "dp-1", Hostname: "a", State: "applied"},
			cluster.Node{NodeID: "dp-2", Hostname: "b"},
		), http.StatusOK, 2},
		{"listing fails", failingDataPlanes{}, http.StatusInternalServerError, 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, openEmbedded(t), admin.Options{DataPlanes: tc.dps})
			r := c.do("GET", "/clustering/data-planes", nil)
			require.Equal(t, tc.status, r.status, "%s", r.raw)
			if tc.status != http.StatusOK {
				require.Equal(t, map[string]any{"message": "An unexpected error occurred"}, r.body)
				return
			}
			require.Len(t, r.body["data"], tc.count)
			require.Contains(t, r.body, "next")
			require.Nil(t, r.body["next"])
			require.Equal(t, http.StatusOK, c.do("GET", "/clustering/status", nil).status)
		})
	}
}
