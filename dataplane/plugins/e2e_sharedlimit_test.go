package plugins_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/redisserver"
)

// TestEndToEndRateLimitingRedis: two data planes counting in one Redis
// hold one limit between them.
func TestEndToEndRateLimitingRedis(t *testing.T) {
	t.Parallel()
	srv := redisserver.Start(t)
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-rl", "rate-limiting", map[string]any{
		"month": 4, "policy": "redis", "limit_by": "header", "header_name": "X-Tenant",
		"redis": map[string]any{"host": srv.Host, "port": srv.Port},
	})}
	var fronts [2]interface {
		Client() *http.Client
	}
	var urls [2]string
	for i := range fronts {
		redises := counters.NewRedises()
		t.Cleanup(func() { _ = redises.Close() })
		f := serveRegistry(t, cfg, plugins.RegistryWith(plugins.Options{Redis: redises}))
		fronts[i], urls[i] = f, f.URL
	}
	tenant := http.Header{"X-Tenant": {"acme"}}
	for i, want := range []string{"3", "2", "1", "0"} {
		res, _ := raw(t, fronts[i%2], http.MethodGet, urls[i%2]+"/api/x", tenant)
		require.Equal(t, http.StatusOK, res.StatusCode, "request %d", i+1)
		require.Equal(t, want, res.Header.Get("X-Ratelimit-Remaining-Month"))
	}
	for i := range fronts {
		res, body := raw(t, fronts[i], http.MethodGet, urls[i]+"/api/x", tenant)
		require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "the limit holds on data plane %d", i)
		require.JSONEq(t, plugintest.ErrorJSON("API rate limit exceeded"), withRequestID(body, res))
	}
	res, _ := raw(t, fronts[0], http.MethodGet, urls[0]+"/api/x", http.Header{"X-Tenant": {"other"}})
	require.Equal(t, http.StatusOK, res.StatusCode, "another tenant has its own count")

	srv.Stop()
	res, _ = raw(t, fronts[1], http.MethodGet, urls[1]+"/api/x", tenant)
	require.Equal(t, http.StatusOK, res.StatusCode, "fault_tolerant: Redis down, requests pass")
	require.Empty(t, res.Header.Get("X-Ratelimit-Remaining-Month"))
}
