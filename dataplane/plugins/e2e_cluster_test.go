package plugins_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
)

// fleet is three data planes whose cluster policy counts in one
// DynamoDB table on the emulator.
type fleet struct {
	fronts   [3]*proxytest.Server
	clusters [3]*counters.Cluster
}

func newFleet(t *testing.T, table string, conf map[string]any) *fleet {
	t.Helper()
	moto := motoserver.Start(t)
	client := dynamodb.NewFromConfig(moto.SerialConfig())
	require.NoError(t, counters.CreateTable(context.Background(), client, table))
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-rl", "rate-limiting", conf)}
	f := &fleet{}
	for i := range f.fronts {
		f.clusters[i] = counters.NewCluster(counters.NewDynamoDB(client, table, nil), nil)
		t.Cleanup(f.clusters[i].Close)
		f.fronts[i] = serveRegistry(t, cfg, plugins.RegistryWith(plugins.Options{Cluster: f.clusters[i]}))
	}
	return f
}

func (f *fleet) send(t *testing.T, dp int) *http.Response {
	t.Helper()
	res, _ := raw(t, f.fronts[dp], http.MethodGet, f.fronts[dp].URL+"/api/x", http.Header{"X-Tenant": {"acme"}})
	return res
}

func (f *fleet) flush(t *testing.T) {
	t.Helper()
	for _, c := range f.clusters {
		require.NoError(t, c.Flush(context.Background()))
	}
	// A second round: each node reads back what the others added.
	for _, c := range f.clusters {
		require.NoError(t, c.Flush(context.Background()))
	}
}

// TestEndToEndRateLimitingClusterRealtime: with sync_rate -1 every
// request is counted in the table, so three data planes hold the limit
// exactly.
func TestEndToEndRateLimitingClusterRealtime(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "counters-realtime", map[string]any{"month": 6, "policy": "cluster",
		"limit_by": "header", "header_name": "X-Tenant"})
	for i := range 6 {
		res := f.send(t, i%3)
		require.Equal(t, http.StatusOK, res.StatusCode, "request %d", i+1)
		require.Equal(t, strconv.Itoa(5-i), res.Header.Get("X-Ratelimit-Remaining-Month"))
	}
	for dp := range 3 {
		require.Equal(t, http.StatusTooManyRequests, f.send(t, dp).StatusCode, "data plane %d", dp)
	}
}

// TestEndToEndRateLimitingClusterSynced: with a sync_rate each node
// counts in memory between syncs; after one sync interval every node
// sees the fleet's count and the limit holds.
func TestEndToEndRateLimitingClusterSynced(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "counters-synced", map[string]any{"month": 6, "policy": "cluster", "sync_rate": 3600,
		"limit_by": "header", "header_name": "X-Tenant"})
	// First use of the counter on each node goes to the table: 1, 2, 3.
	for dp := range 3 {
		res := f.send(t, dp)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, strconv.Itoa(5-dp), res.Header.Get("X-Ratelimit-Remaining-Month"))
	}
	// Then in memory: node 0 counts two more on its own (4 and 5 of 6).
	for range 2 {
		require.Equal(t, http.StatusOK, f.send(t, 0).StatusCode)
	}
	res := f.send(t, 1)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "3", res.Header.Get("X-Ratelimit-Remaining-Month"), "node 1 has not seen node 0's counts yet")

	f.flush(t)
	for dp := range 3 {
		res := f.send(t, dp)
		require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "after a sync every node sees 6 of 6 (data plane %d)", dp)
	}
}

// TestEndToEndRateLimitingClusterSyncLoop: the nodes' own sync loops,
// every sync_rate, bring each node the others' counts.
func TestEndToEndRateLimitingClusterSyncLoop(t *testing.T) {
	t.Parallel()
	const syncRate = 200 * time.Millisecond
	f := newFleet(t, "counters-loop", map[string]any{"month": 4, "policy": "cluster", "sync_rate": syncRate.Seconds(),
		"limit_by": "header", "header_name": "X-Tenant"})
	require.Equal(t, http.StatusOK, f.send(t, 0).StatusCode, "1 of 4, in the table")
	require.Equal(t, http.StatusOK, f.send(t, 1).StatusCode, "2 of 4, in the table")
	require.Equal(t, http.StatusOK, f.send(t, 0).StatusCode, "3 of 4, on node 0 only")
	require.Equal(t, http.StatusOK, f.send(t, 0).StatusCode, "4 of 4, on node 0 only")

	// Kong's key of the counter (a global plugin: no route, no service).
	const none = "00000000-0000-0000-0000-000000000000"
	key := "ratelimit:" + none + ":" + none + ":acme:" +
		strconv.FormatInt(counters.WindowStart("month", time.Now()), 10) + ":month"
	node1 := f.clusters[1].Store(syncRate)
	require.Eventually(t, func() bool {
		v, err := node1.Get(context.Background(), []string{key})
		return err == nil && v[0] == 4
	}, 60*time.Second, 20*time.Millisecond, "node 0's loop adds its counts, node 1's reads them back")
	require.Equal(t, http.StatusTooManyRequests, f.send(t, 1).StatusCode)
}
