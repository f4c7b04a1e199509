package plugins_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/cputime"
	"github.com/skyport-gw/skyport/internal/model"
)

// benchConfig is the snapshot with key-auth and a rate limit no request
// reaches, or without plugins.
func benchConfig(b *testing.B, host string, port int, withPlugins bool) *model.Config {
	return benchConfigLog(b, host, port, withPlugins, "")
}

// benchConfigLog adds a global http-log to logURL (batches of 100) when
// logURL is set.
func benchConfigLog(b *testing.B, host string, port int, withPlugins bool, logURL string) *model.Config {
	cfg := snapshot(b, host, port, false)
	if logURL != "" {
		cfg.Plugins = append(cfg.Plugins, plugintest.Plugin(b, "p-log", "http-log", map[string]any{
			"http_endpoint": logURL, "queue": map[string]any{"max_batch_size": 100, "max_coalescing_delay": 0.1}}))
	}
	if withPlugins {
		cfg.KeyAuths = []*model.KeyAuth{{Base: model.Base{ID: "cred-alice"}, Key: aliceKey, Consumer: &model.Ref{ID: plugintest.AliceID}}}
		cfg.Plugins = []*model.Plugin{
			plugintest.Plugin(b, "p-key", "key-auth", nil),
			plugintest.Plugin(b, "p-rl", "rate-limiting", map[string]any{"second": 1e12}),
		}
	}
	return cfg
}

// BenchmarkProxy measures the whole proxy path (router, plugins, upstream
// round trip over loopback) with and without key-auth + rate-limiting,
// and with http-log batching to a loopback log server.
func BenchmarkProxy(b *testing.B) {
	host, port := staticUpstream(b)
	logs := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(logs.Close)
	for _, tc := range []struct {
		name    string
		plugins bool
		log     string
		cache   bool
	}{{"no-plugins", false, "", false}, {"key-auth+rate-limiting", true, "", false}, {"http-log", false, logs.URL, false},
		{"proxy-cache-hit", false, "", true}} {
		b.Run(tc.name, func(b *testing.B) {
			px := proxy.New(proxy.Options{Registry: plugins.Registry(), Version: "bench",
				Log: slog.New(slog.DiscardHandler), RetireTimeout: time.Second})
			defer px.Close()
			cfg := benchConfigLog(b, host, port, tc.plugins, tc.log)
			if tc.cache {
				// Every request after the first is answered from the cache.
				cfg.Plugins = append(cfg.Plugins, plugintest.Plugin(b, "p-cache", "proxy-cache",
					map[string]any{"strategy": "memory", "cache_ttl": 3600}))
			}
			require.NoError(b, px.Apply(context.Background(), cfg, 1, "bench"))
			b.ReportAllocs()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest(http.MethodGet, "/api", nil)
					r.Header.Set("apikey", aliceKey)
					w := httptest.NewRecorder()
					px.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}

// reportCPU reports the process's CPU time (user and system) per
// operation, as cpu-ns/op, when the returned function is called: on a
// shared machine that is a steadier measure of a plugin's cost than
// ns/op, and it counts the work of every goroutine (the loopback upstream,
// the log receiver, the loggers' queues) that ns/op hides in parallelism.
func reportCPU(b *testing.B) func() {
	start := cputime.Process()
	return func() {
		cputime.Report(b, start, b.N)
	}
}

// staticUpstream answers a small fixed body, so the benchmark measures the
// proxy rather than the upstream's work on the extra headers.
func staticUpstream(b *testing.B) (host string, port int) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	b.Cleanup(srv.Close)
	h, p, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(b, err)
	port, err = strconv.Atoi(p)
	require.NoError(b, err)
	return h, port
}

// BenchmarkAccess measures the plugin phases alone for one request.
func BenchmarkAccess(b *testing.B) {
	cfg := benchConfig(b, "127.0.0.1", 80, true)
	set, err := plugin.Build(plugins.Registry(), cfg)
	require.NoError(b, err)
	r := httptest.NewRequest(http.MethodGet, "/api", nil)
	r.Header.Set("apikey", aliceKey)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pc := plugin.NewContext(cfg.Routes[0], cfg.Services[0], nil, "127.0.0.1")
		if set.Access(pc, r) != nil {
			b.Fatal("refused")
		}
		set.Header(pc, http.StatusOK, http.Header{})
	}
}
