package logrecord_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/logrecord"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, raw string
		want      map[string]any
	}{
		{"empty", "", map[string]any{}},
		{"flag", "debug", map[string]any{"debug": true}},
		{"empty value", "a=", map[string]any{"a": ""}},
		{"repeated", "a=1&a=2&a", map[string]any{"a": []any{"1", "2", true}}},
		{"escaped", "q=a%20b&x+y=1", map[string]any{"q": "a b", "x y": "1"}},
		{"bad escape kept", "q=%zz", map[string]any{"q": "%zz"}},
		{"empty name left out", "=x&a=1", map[string]any{"a": "1"}},
		{"at most 100 arguments", strings.Repeat("a&", 100) + "b", map[string]any{"a": slices.Repeat([]any{true}, 100)}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, logrecord.Query(tt.raw))
		})
	}
}

func TestRequestHeadersRedactsAuthorization(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "http://api.example/x", nil)
	r.Header.Set("Authorization", "Bearer secret")
	r.Header.Set("Proxy-Authorization", "Basic secret")
	r.Header.Add("X-Multi", "a")
	r.Header.Add("X-Multi", "b")
	require.Equal(t, map[string]any{"authorization": "REDACTED", "proxy-authorization": "REDACTED",
		"x-multi": []any{"a", "b"}, "host": "api.example"}, logrecord.RequestHeaders(r))
}

func TestNew(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "https://api.example:9443/v1/x?a=1", nil)
	r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	route := &model.Route{Base: model.Base{ID: "r1"}}
	pc := plugin.NewContext(route, nil, nil, "192.0.2.1")
	pc.Start = time.UnixMilli(1_700_000_000_123)
	pc.Credential = &model.KeyAuth{Base: model.Base{ID: "cred"}}
	start := time.Unix(1_700_000_000, 5)
	e := &plugin.LogEntry{Request: r, Status: 201, Bytes: 10, Proxy: 3 * time.Millisecond,
		Upstream: 7 * time.Millisecond, Total: 12 * time.Millisecond, Receive: 2 * time.Millisecond,
		RequestID: "rid", Scheme: "https", Host: "api.example", Port: "9443", UpstreamURI: "/x?a=1",
		UpstreamStatus: 201, ResponseHeader: http.Header{"X-A": {"1"}}, Proxied: true,
		Tries: []plugin.Try{{IP: "10.0.0.1", Port: 80, Start: start, Latency: time.Millisecond, Failed: true, Code: 502},
			{IP: "10.0.0.2", Port: 80, Start: start}}}
	rec := logrecord.New(pc, e)
	require.Equal(t, "https://api.example:9443/v1/x?a=1", rec.Request.URL)
	require.Equal(t, "/v1/x?a=1", rec.Request.URI)
	require.Equal(t, &logrecord.TLS{Version: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256", ClientVerify: "NONE"}, rec.Request.TLS)
	require.Equal(t, logrecord.Latencies{Kong: 3, Proxy: 7, Request: 12, Receive: 2}, rec.Latencies)
	require.Equal(t, "201", rec.UpstreamStatus)
	require.Equal(t, "upstream", rec.Source)
	require.Equal(t, int64(1_700_000_000_123), rec.StartedAt)
	require.Equal(t, &logrecord.Credential{ID: "cred"}, rec.AuthenticatedEntity)
	require.Equal(t, "r1", rec.Route.ID)
	require.Equal(t, []logrecord.Try{
		{IP: "10.0.0.1", Port: 80, BalancerStart: start.UnixMilli(), BalancerStartNS: start.UnixNano(),
			BalancerLatency: 1, BalancerLatencyNS: int64(time.Millisecond), State: "failed", Code: 502},
		{IP: "10.0.0.2", Port: 80, BalancerStart: start.UnixMilli(), BalancerStartNS: start.UnixNano()},
	}, rec.Tries)
	require.Equal(t, map[string]any{"x-a": "1"}, rec.Response.Headers)
	require.Greater(t, rec.Response.Size, int64(10))
}

func TestEncoderMatchesRecord(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "http://api.example/v1/x?=x&a=1&a=2&flag&q=a%20b", nil)
	r.Header.Set("Authorization", "Bearer secret")
	r.Header.Add("X-Multi", "a")
	r.Header.Add("X-Multi", "b\"\n\xff")
	name := "svc"
	pc := plugin.NewContext(&model.Route{Base: model.Base{ID: "r1"}, Paths: []string{"/v1"}},
		&model.Service{Base: model.Base{ID: "s1"}, Name: &name, Host: "up"}, nil, "192.0.2.1")
	pc.Consumer = &model.Consumer{Base: model.Base{ID: "c1"}}
	pc.Credential = &model.KeyAuth{Base: model.Base{ID: "cred"}}
	pc.SetVar(plugin.VarTraceID, map[string]string{"w3c": "abc", "b3": "abc"})
	pc.SetVar(plugin.VarCorrelationID, "corr-1")
	start := time.Unix(1_700_000_000, 5)
	for _, e := range []*plugin.LogEntry{
		{Request: r, Status: 200, Bytes: 3, Total: 9 * time.Millisecond, Proxy: time.Millisecond, Upstream: 5 * time.Millisecond,
			RequestID: "rid", Scheme: "http", Host: "api.example", Port: "9000", UpstreamURI: "/x?a=1", UpstreamStatus: 200,
			ResponseHeader: http.Header{"Content-Type": {"text/plain"}}, Proxied: true,
			Tries: []plugin.Try{{IP: "10.0.0.1", Port: 80, Start: start, Failed: true, Code: 504}, {IP: "10.0.0.2", Port: 80, Start: start}}},
		{Request: r, Status: 401, Scheme: "http", Host: "api.example", ResponseHeader: http.Header{}},
	} {
		want, err := logrecord.JSON(pc, e)
		require.NoError(t, err)
		var enc logrecord.Encoder
		got := enc.Append(nil, pc, e)
		require.JSONEq(t, string(want), string(got))
		require.JSONEq(t, string(want), string(enc.Append(nil, pc, e)), "cached entities")
	}
}

func BenchmarkEncoder(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "http://api.example/v1/x?a=1", nil)
	r.Header.Set("User-Agent", "bench")
	r.Header.Set("Accept", "*/*")
	pc := plugin.NewContext(&model.Route{Base: model.Base{ID: "r1"}}, &model.Service{Base: model.Base{ID: "s1"}}, nil, "192.0.2.1")
	e := &plugin.LogEntry{Request: r, Status: 200, Scheme: "http", Host: "api.example", Port: "9000", Proxied: true,
		ResponseHeader: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"11"}},
		Tries:          []plugin.Try{{IP: "10.0.0.1", Port: 80}}}
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = logrecord.JSON(pc, e)
		}
	})
	b.Run("encoder", func(b *testing.B) {
		var enc logrecord.Encoder
		buf := make([]byte, 0, 2048)
		b.ReportAllocs()
		for b.Loop() {
			buf = enc.Append(buf[:0], pc, e)
		}
	})
}
