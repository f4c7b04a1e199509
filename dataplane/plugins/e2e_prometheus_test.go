package plugins_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/plugins/prometheus"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestPrometheusSourceKong: through the proxy, the request counter's
// source is "service" for what the upstream answered and "kong" for
// what the data plane answered itself — key-auth's 401,
// request-termination's answer, a 502 when the upstream cannot be
// reached — as Kong's exporter labels them from
// kong.response.get_source().
func TestPrometheusSourceKong(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	// A port nothing listens on any more.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadPort := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())

	cfg := snapshot(t, host, port, false)
	dead := model.NewService()
	dead.ID, dead.Name, dead.Host, dead.Port = "a000-dead", new("dead"), "127.0.0.1", deadPort
	cfg.Services = append(cfg.Services, dead)
	route := func(id string, path string, svc string) *model.Route {
		r := model.NewRoute()
		r.ID, r.Name, r.Paths, r.Service = id, new(id), []string{path}, &model.Ref{ID: svc}
		return r
	}
	cfg.Routes = append(cfg.Routes, route("auth", "/auth", plugintest.ServiceID), route("stop", "/stop", plugintest.ServiceID),
		route("down", "/down", dead.ID))
	onRoute := func(id string, p *model.Plugin) *model.Plugin { p.Route = &model.Ref{ID: id}; return p }
	cfg.Plugins = []*model.Plugin{
		plugintest.Plugin(t, "p-prom", prometheus.Name, map[string]any{"status_code_metrics": true}),
		onRoute("auth", plugintest.Plugin(t, "p-key", "key-auth", nil)),
		onRoute("stop", plugintest.Plugin(t, "p-stop", "request-termination", map[string]any{"status_code": 503})),
	}
	m := prometheus.NewMetrics()
	reg := prom.NewRegistry()
	require.NoError(t, reg.Register(m))
	px := proxy.New(proxy.Options{Registry: plugins.RegistryWith(plugins.Options{Metrics: m}), Version: "test",
		Log: slog.New(slog.DiscardHandler), RetireTimeout: time.Second})
	require.NoError(t, px.Apply(context.Background(), cfg, 1, "test"))
	t.Cleanup(px.Close)
	front := proxytest.New(t, px.Frontend(nil))

	for _, tc := range []struct {
		path   string
		status int
	}{{"/api/x", http.StatusOK}, {"/auth/x", http.StatusUnauthorized}, {"/stop/x", http.StatusServiceUnavailable},
		{"/down/x", http.StatusBadGateway}} {
		res, err := front.Client().Get(front.URL + tc.path)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, res.Body)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		require.Equal(t, tc.status, res.StatusCode, tc.path)
	}
	// The log phase runs after the response is sent: wait for it.
	require.Eventually(t, func() bool {
		n, err := testutil.GatherAndCount(reg, "kong_http_requests_total")
		return err == nil && n == 4
	}, 10*time.Second, 5*time.Millisecond)
	want := `
# HELP kong_http_requests_total HTTP status codes per consumer/service/route in Kong
# TYPE kong_http_requests_total counter
kong_http_requests_total{code="200",consumer="",route="rt",service="svc",source="service",workspace="default"} 1
kong_http_requests_total{code="401",consumer="",route="auth",service="svc",source="kong",workspace="default"} 1
kong_http_requests_total{code="502",consumer="",route="down",service="dead",source="kong",workspace="default"} 1
kong_http_requests_total{code="503",consumer="",route="stop",service="svc",source="kong",workspace="default"} 1
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "kong_http_requests_total"))
}
