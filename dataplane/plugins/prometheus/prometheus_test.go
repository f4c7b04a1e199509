package prometheus_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/plugins/prometheus"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	m := prometheus.NewMetrics()
	reg := prom.NewRegistry()
	require.NoError(t, reg.Register(m))
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", prometheus.Name, map[string]any{
		"status_code_metrics": true, "latency_metrics": true, "bandwidth_metrics": true, "per_consumer": true})}
	set, err := plugin.Build(plugintest.Registry(prometheus.Name, prometheus.NewFactory(m)), cfg)
	require.NoError(t, err)
	for _, status := range []int{200, 200, 404} {
		pc := plugin.NewContext(cfg.Routes[0], cfg.Services[0], nil, "127.0.0.1")
		pc.Consumer = cfg.Consumers[0]
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		require.Nil(t, set.Access(pc, r))
		set.Log(pc, &plugin.LogEntry{Request: r, Status: status, Bytes: 10, Proxied: true,
			Upstream: 5 * time.Millisecond, Proxy: time.Millisecond, Total: 6 * time.Millisecond})
	}
	want := `
# HELP kong_http_requests_total HTTP status codes per consumer/service/route in Kong
# TYPE kong_http_requests_total counter
kong_http_requests_total{code="200",consumer="alice",route="rt",service="svc",source="service",workspace="default"} 2
kong_http_requests_total{code="404",consumer="alice",route="rt",service="svc",source="service",workspace="default"} 1
# HELP kong_bandwidth_bytes Total bandwidth (ingress/egress) throughput in bytes
# TYPE kong_bandwidth_bytes counter
kong_bandwidth_bytes{consumer="alice",direction="egress",route="rt",service="svc",workspace="default"} 30
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "kong_http_requests_total", "kong_bandwidth_bytes"))
	n, err := testutil.GatherAndCount(reg, "kong_request_latency_ms")
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestDisabledFamilies(t *testing.T) {
	t.Parallel()
	m := prometheus.NewMetrics()
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", prometheus.Name, nil)}
	set, err := plugin.Build(plugintest.Registry(prometheus.Name, prometheus.NewFactory(m)), cfg)
	require.NoError(t, err)
	pc := plugin.NewContext(cfg.Routes[0], cfg.Services[0], nil, "127.0.0.1")
	require.Nil(t, set.Access(pc, httptest.NewRequest(http.MethodGet, "/", nil)))
	set.Log(pc, &plugin.LogEntry{Status: 200})
	require.Equal(t, 0, testutil.CollectAndCount(m))
}

// TestRetainDropsDeletedEntities: the series of a route or service a new
// configuration no longer has are dropped from every family; the others
// stay.
func TestRetainDropsDeletedEntities(t *testing.T) {
	t.Parallel()
	m := prometheus.NewMetrics()
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", prometheus.Name, map[string]any{
		"status_code_metrics": true, "latency_metrics": true, "bandwidth_metrics": true})}
	set, err := plugin.Build(plugintest.Registry(prometheus.Name, prometheus.NewFactory(m)), cfg)
	require.NoError(t, err)
	gone := *cfg.Routes[0]
	gone.ID, gone.Name = "a000-gone", nil
	for _, rt := range []*model.Route{cfg.Routes[0], &gone} {
		pc := plugin.NewContext(rt, cfg.Services[0], nil, "127.0.0.1")
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		require.Nil(t, set.Access(pc, r))
		set.Log(pc, &plugin.LogEntry{Request: r, Status: 200, Bytes: 10, Upstream: time.Millisecond, Total: time.Millisecond})
	}
	require.Equal(t, 10, testutil.CollectAndCount(m))
	m.Retain(cfg)
	require.Equal(t, 5, testutil.CollectAndCount(m))
	reg := prom.NewRegistry()
	require.NoError(t, reg.Register(m))
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				require.NotEqual(t, "a000-gone", l.GetValue(), f.GetName())
			}
		}
	}
}

// TestLabels: a service is labeled by its name, else its host; a route
// by its name, else its id (kong/plugins/prometheus/exporter.lua); an
// empty name is none. Retain keeps the series of entities so labeled.
func TestLabels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc                     string
		serviceName, routeName   *string
		wantService, wantRouteID string
	}{
		{"named", ptr("svc-name"), ptr("rt-name"), "svc-name", "rt-name"},
		{"unnamed", nil, nil, "upstream.example", "a000-route"},
		{"empty names", ptr(""), ptr(""), "upstream.example", "a000-route"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			m := prometheus.NewMetrics()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", prometheus.Name, map[string]any{"status_code_metrics": true})}
			svc, rt := *cfg.Services[0], *cfg.Routes[0]
			svc.ID, svc.Name, svc.Host = "a000-service", tc.serviceName, "upstream.example"
			rt.ID, rt.Name = "a000-route", tc.routeName
			cfg.Services, cfg.Routes = []*model.Service{&svc}, []*model.Route{&rt}
			set, err := plugin.Build(plugintest.Registry(prometheus.Name, prometheus.NewFactory(m)), cfg)
			require.NoError(t, err)
			pc := plugin.NewContext(&rt, &svc, nil, "127.0.0.1")
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			require.Nil(t, set.Access(pc, r))
			set.Log(pc, &plugin.LogEntry{Request: r, Status: 200, Upstream: time.Millisecond, Proxied: true})
			m.Retain(cfg)
			want := `
# HELP kong_http_requests_total HTTP status codes per consumer/service/route in Kong
# TYPE kong_http_requests_total counter
kong_http_requests_total{code="200",consumer="",route="` + tc.wantRouteID + `",service="` + tc.wantService + `",source="service",workspace="default"} 1
`
			require.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(want), "kong_http_requests_total"))
		})
	}
}

func ptr(s string) *string { return &s }

// TestSource: the request counter's source is "service" when the
// upstream answered the response sent (however fast: an upstream
// latency of 0 is still the upstream's answer), and "kong" when the data
// plane made it: a plugin's answer, a header filter's exit, a proxy
// error (kong/plugins/prometheus/exporter.lua on
// kong.response.get_source()).
func TestSource(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc       string
		entry      plugin.LogEntry
		headerExit int
		want       string
	}{
		{desc: "proxied", entry: plugin.LogEntry{Status: 200, Proxied: true, Upstream: 3 * time.Millisecond}, want: "service"},
		{desc: "proxied at once", entry: plugin.LogEntry{Status: 200, Proxied: true}, want: "service"},
		{desc: "upstream's error status", entry: plugin.LogEntry{Status: 503, Proxied: true}, want: "service"},
		{desc: "a plugin's answer", entry: plugin.LogEntry{Status: 401}, want: "kong"},
		{desc: "a proxy error after a try", entry: plugin.LogEntry{Status: 502, Upstream: 2 * time.Millisecond}, want: "kong"},
		{desc: "a header filter's exit", entry: plugin.LogEntry{Status: 429, Proxied: true, Upstream: time.Millisecond},
			headerExit: 429, want: "kong"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			m := prometheus.NewMetrics()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", prometheus.Name, map[string]any{"status_code_metrics": true})}
			set, err := plugin.Build(plugintest.Registry(prometheus.Name, prometheus.NewFactory(m)), cfg)
			require.NoError(t, err)
			pc := plugin.NewContext(cfg.Routes[0], cfg.Services[0], nil, "127.0.0.1")
			require.Nil(t, set.Access(pc, httptest.NewRequest(http.MethodGet, "/", nil)))
			if tc.headerExit != 0 {
				pc.ExitInHeader(tc.headerExit)
			}
			set.Log(pc, &tc.entry)
			want := `
# HELP kong_http_requests_total HTTP status codes per consumer/service/route in Kong
# TYPE kong_http_requests_total counter
kong_http_requests_total{code="` + strconv.Itoa(tc.entry.Status) + `",consumer="",route="rt",service="svc",source="` +
				tc.want + `",workspace="default"} 1
`
			require.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(want), "kong_http_requests_total"))
		})
	}
}
