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

// TestRoot checks GET / as Kong's clients read it: go-kong and decK pick
// the entity-CRUD Admin API from configuration.database (kong/api/routes/kong.lua
// renders kong.configuration; only "off" means DB-less), parse the
// listeners (go-kong's listeners.go) and the version.
func TestRoot(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"embedded", "dynamodb"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, openEmbedded(t), admin.Options{
				NodeID: "7e8c0f36-3d2c-4a47-9a2b-1d0e0c3c9b51", Hostname: "cp.local", Database: store,
				AdminListeners: []admin.Listener{{Addr: "127.0.0.1:9001"}},
				ProxyListeners: []admin.Listener{{Addr: "0.0.0.0:9000"}, {Addr: "[::]:9443", SSL: true, HTTP2: true}},
			})
			r := c.do("GET", "/", nil)
			require.Equal(t, http.StatusOK, r.status)
			b := r.body
			require.Equal(t, "kong/3.9.3", r.header.Get("Server"))
			require.Equal(t, "3.9.3", b["version"])
			require.Equal(t, "community", b["edition"])
			require.Equal(t, "Welcome to kong", b["tagline"])
			require.Equal(t, "7e8c0f36-3d2c-4a47-9a2b-1d0e0c3c9b51", b["node_id"])
			require.Equal(t, "cp.local", b["hostname"])
			for _, absent := range []string{"lua_version", "timers", "pids"} {
				require.NotContains(t, b, absent)
			}
			conf := b["configuration"].(map[string]any)
			require.Equal(t, "postgres", conf["database"], "the CRUD control plane on every store")
			require.Equal(t, store, conf["skyport_store"])
			require.Equal(t, "control_plane", conf["role"])
			require.Equal(t, "traditional_compatible", conf["router_flavor"])
			require.Equal(t, []any{"0.0.0.0:9000", "[::]:9443 http2 ssl"}, conf["proxy_listen"])
			require.Equal(t, []any{"127.0.0.1:9001"}, conf["admin_listen"])
			require.Equal(t, []any{
				map[string]any{"ip": "0.0.0.0", "port": 9000.0, "ssl": false, "http2": false, "listener": "0.0.0.0:9000",
					"bind": false, "deferred": false, "reuseport": false, "proxy_protocol": false, "backlog=%d+": false},
				map[string]any{"ip": "[::]", "port": 9443.0, "ssl": true, "http2": true, "listener": "[::]:9443 http2 ssl",
					"bind": false, "deferred": false, "reuseport": false, "proxy_protocol": false, "backlog=%d+": false},
			}, conf["proxy_listeners"])
			require.Len(t, conf["admin_listeners"], 1)
			require.Equal(t, []any{}, conf["stream_listeners"])
			plugins := b["plugins"].(map[string]any)
			ka := plugins["available_on_server"].(map[string]any)["key-auth"]
			require.Equal(t, map[string]any{"version": "3.9.3", "priority": 1250.0}, ka)
			require.Equal(t, true, conf["loaded_plugins"].(map[string]any)["key-auth"])
			require.Equal(t, []any{}, plugins["enabled_in_cluster"])
		})
	}
}

// TestServerHeader: every Admin API answer carries Kong's server token,
// errors and refusals included (decK's dump reads it).
func TestServerHeader(t *testing.T) {
	t.Parallel()
	c := newClient(t, openEmbedded(t), admin.Options{Version: "3.9.1"})
	for _, tc := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/status"}, {"GET", "/services"}, {"GET", "/nope"},
		{"DELETE", "/"}, {"POST", "/services"}, {"GET", "/schemas/routes"},
	} {
		r := c.do(tc.method, tc.path, nil)
		require.Equal(t, "kong/3.9.1", r.header.Get("Server"), "%s %s", tc.method, tc.path)
	}
	locked := newClient(t, openEmbedded(t), admin.Options{TokenHash: admin.HashToken("secret")})
	r := locked.do("GET", "/", nil)
	require.Equal(t, http.StatusUnauthorized, r.status)
	require.Equal(t, "kong/3.9.3", r.header.Get("Server"))
}

func testStatus(t *testing.T, c *client) {
	b := c.must(http.StatusOK, "GET", "/status", nil)
	require.Equal(t, map[string]any{"reachable": true}, b["database"])
	require.Equal(t, strings.Repeat("0", 32), b["configuration_hash"], "the empty configuration")
	server := b["server"].(map[string]any)
	for _, k := range []string{"total_requests", "connections_active", "connections_accepted", "connections_handled",
		"connections_reading", "connections_writing", "connections_waiting"} {
		require.Contains(t, server, k, "go-kong's Status")
	}

	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "a"})
	b = c.must(http.StatusOK, "GET", "/status", nil)
	require.Len(t, b["configuration_hash"], 32)
	require.NotEqual(t, strings.Repeat("0", 32), b["configuration_hash"])

	// The hash computed for the revision is kept with it, and a hash kept
	// with the current revision is what /status reports, unexported.
	ctx := context.Background()
	hash, rev, ok, err := c.store.ConfigHash(ctx)
	require.NoError(t, err)
	require.True(t, ok, "GET /status recorded the hash it computed")
	require.Equal(t, b["configuration_hash"], hash)
	require.NoError(t, c.store.RecordConfigHash(ctx, rev, "recorded-by-the-publisher"))
	b = c.must(http.StatusOK, "GET", "/status", nil)
	require.Equal(t, "recorded-by-the-publisher", b["configuration_hash"])
	require.EqualValues(t, rev, b["revision"])
}

// failingDataPlanes is a registry that cannot be read.
type failingDataPlanes struct{}

func (failingDataPlanes) ListDataPlanes(context.Context, cluster.ListOptions) (cluster.DataPlanePage, error) {
	return cluster.DataPlanePage{}, errors.New("table unavailable")
}

func (failingDataPlanes) ListNodes(context.Context) ([]cluster.Node, error) {
	return nil, errors.New("table unavailable")
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
