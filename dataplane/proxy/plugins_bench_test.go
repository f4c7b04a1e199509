package proxy_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// BenchmarkProxyH1Plugins is BenchmarkProxyH1 with and without the
// plugins of the bench's "key-auth + rate-limiting" rows (key-auth, and
// rate-limiting by consumer with the local policy, on every route): the
// CPU per request (cpu-ns/op) of each, through Frontend(nil) and
// through the adapter, is what issue 19's "≥ 0.85 of the no-plugin
// figure" rests on. The "common" set is the plugins Kong shops run most
// together: those two with cors, acl, correlation-id, request-transformer
// adding a header and response-transformer adding one. "response" is
// response-transformer alone renaming, replacing, adding and appending
// fields of the response, and "every-route" key-auth and rate-limiting
// with ip-restriction, request-size-limiting, prometheus and that
// response-transformer (issue 19's fourth round); "loggers" key-auth and
// rate-limiting with statsd and datadog (their defaults) sending to a
// socket nobody reads; "records" key-auth and rate-limiting with
// http-log (to a local server) and file-log; "http-log" http-log alone
// sending batches of up to 1000 records, so that the record's cost on
// the request path, not one POST per request, is what adds to "none".
func BenchmarkProxyH1Plugins(b *testing.B) {
	const res = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Date: Fri, 27 Nov 2026 16:00:00 GMT\r\nContent-Length: 2\r\n\r\nok"
	upAddr := cannedUpstream(b, res)
	host, p, _ := net.SplitHostPort(upAddr)
	port, _ := strconv.Atoi(p)
	// sink takes statsd's and datadog's datagrams, unread.
	sinkConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sinkConn.Close() })
	sink := sinkConn.LocalAddr().(*net.UDPAddr).Port
	// collector takes http-log's batches.
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
	}))
	b.Cleanup(collector.Close)
	response := map[string]any{
		"rename":  map[string]any{"headers": []any{"Date:X-Upstream-Date"}},
		"replace": map[string]any{"headers": []any{"Content-Type:text/plain"}},
		"add":     map[string]any{"headers": []any{"X-Served:1"}},
		"append":  map[string]any{"headers": []any{"Cache-Control:no-store"}},
	}
	for _, set := range []struct {
		name    string
		plugins bool
		common  bool
		extra   []*model.Plugin
	}{{"none", false, false, nil}, {"key-auth+rate-limiting", true, false, nil}, {"common", true, true, nil},
		{"response", false, false, []*model.Plugin{benchPlugin(b, "p8", "response-transformer", response)}},
		{"every-route", true, false, []*model.Plugin{
			benchPlugin(b, "p8", "response-transformer", response),
			benchPlugin(b, "p9", "ip-restriction", map[string]any{"allow": []any{"127.0.0.0/8"}}),
			benchPlugin(b, "p10", "request-size-limiting", nil),
			benchPlugin(b, "p11", "prometheus", map[string]any{"status_code_metrics": true, "latency_metrics": true,
				"bandwidth_metrics": true})}},
		{"loggers", true, false, []*model.Plugin{
			benchPlugin(b, "p12", "statsd", map[string]any{"host": "127.0.0.1", "port": sink}),
			benchPlugin(b, "p13", "datadog", map[string]any{"host": "127.0.0.1", "port": sink})}},
		{"records", true, false, []*model.Plugin{
			benchPlugin(b, "p14", "http-log", map[string]any{"http_endpoint": collector.URL}),
			benchPlugin(b, "p15", "file-log", map[string]any{"path": filepath.Join(b.TempDir(), "records.log")})}},
		{"http-log", false, false, []*model.Plugin{
			benchPlugin(b, "p16", "http-log", map[string]any{"http_endpoint": collector.URL,
				"queue": map[string]any{"max_batch_size": 1000, "max_coalescing_delay": 1, "max_entries": 100000}})}},
	} {
		cfg := &model.Config{Services: []*model.Service{service("s", host, port, "")},
			Routes: []*model.Route{route("r", "s", "/api")}}
		if set.plugins {
			cfg.Consumers = []*model.Consumer{{Base: model.Base{ID: "c1"}, Username: model.String("bench")}}
			cfg.KeyAuths = []*model.KeyAuth{{Base: model.Base{ID: "k1"}, Key: "bench-key", Consumer: &model.Ref{ID: "c1"}}}
			cfg.Plugins = []*model.Plugin{
				benchPlugin(b, "p1", "key-auth", nil),
				benchPlugin(b, "p2", "rate-limiting", map[string]any{"second": 100000000, "policy": "local", "limit_by": "consumer"}),
			}
		}
		if set.common {
			cfg.ACLs = []*model.ACL{{Base: model.Base{ID: "a1"}, Group: "bench", Consumer: &model.Ref{ID: "c1"}}}
			cfg.Plugins = append(cfg.Plugins,
				benchPlugin(b, "p3", "cors", nil),
				benchPlugin(b, "p4", "acl", map[string]any{"allow": []any{"bench"}}),
				benchPlugin(b, "p5", "correlation-id", nil),
				benchPlugin(b, "p6", "request-transformer", map[string]any{"add": map[string]any{"headers": []any{"X-Bench:1"}}}),
				benchPlugin(b, "p7", "response-transformer", map[string]any{"add": map[string]any{"headers": []any{"X-Served:1"}}}))
		}
		cfg.Plugins = append(cfg.Plugins, set.extra...)
		px := proxy.New(proxy.Options{Version: "bench", LatencyHeaders: true, RequestID: true, Registry: plugins.Registry()})
		if err := px.Apply(b.Context(), cfg, 1, "bench"); err != nil {
			b.Fatal(err)
		}
		for _, path := range []struct {
			name string
			h    http.Handler
		}{{"native", nil}, {"adapter", http.HandlerFunc(px.ServeHTTP)}} {
			b.Run("plugins="+set.name+"/path="+path.name, func(b *testing.B) {
				benchFrontend(b, px.Frontend(path.h), "apikey: bench-key\r\n")
			})
		}
		px.Close()
	}
}

// benchPlugin is an enabled plugin named name on every route, conf with
// the schema's defaults.
func benchPlugin(b *testing.B, id, name string, conf map[string]any) *model.Plugin {
	if conf == nil {
		conf = map[string]any{}
	}
	out, errs, _ := pluginschema.Normalize(name, conf)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	return &model.Plugin{Base: model.Base{ID: id}, Name: name, Enabled: true, Config: out}
}
