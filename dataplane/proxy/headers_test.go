package proxy_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	keep := route("keep", "s", "/keep")
	keep.PreserveHost = true
	keep.StripPath = false
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("strip", "s", "/strip"), keep},
	}
	_, front := newProxy(t, cfg)
	_, frontPort, _ := strings.Cut(strings.TrimPrefix(front.URL, "http://"), ":")

	tests := []struct {
		desc   string
		path   string
		header []string
		want   map[string]string
		absent []string
		host   string
	}{
		{
			desc: "fresh request", path: "/strip/x?q=1",
			want: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-Ip": "127.0.0.1",
				"X-Forwarded-Proto": "http", "X-Forwarded-Host": "127.0.0.1", "X-Forwarded-Port": frontPort,
				"X-Forwarded-Path": "/strip/x", "X-Forwarded-Prefix": "/strip", "Via": "1.1 skyport/test"},
			host: b.addr,
		},
		{
			desc: "appends to X-Forwarded-For, replaces the untrusted others", path: "/keep/y",
			header: []string{"X-Forwarded-For", "10.0.0.1", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil",
				"X-Forwarded-Prefix", "/evil", "Host", "api.example.com", "Via", "1.0 edge"},
			want: map[string]string{"X-Forwarded-For": "10.0.0.1, 127.0.0.1", "X-Forwarded-Proto": "http",
				"X-Forwarded-Host": "api.example.com", "X-Forwarded-Path": "/keep/y", "Via": "1.0 edge, 1.1 skyport/test"},
			absent: []string{"X-Forwarded-Prefix"},
			host:   "api.example.com",
		},
		// nginx's $host, which Kong forwards (kong/runloop/handler.lua):
		// lowercase, without the port or a trailing dot.
		{
			desc: "X-Forwarded-Host is nginx's $host", path: "/keep/z", header: []string{"Host", "API.Example.COM.:8080"},
			want: map[string]string{"X-Forwarded-Host": "api.example.com"}, host: "API.Example.COM.:8080",
		},
		{
			desc: "an IPv6 host keeps its brackets", path: "/keep/z", header: []string{"Host", "[::1]:8080"},
			want: map[string]string{"X-Forwarded-Host": "[::1]"},
		},
		{
			desc: "hop-by-hop headers removed", path: "/strip",
			header: []string{"Connection", "X-Secret-Hop", "X-Secret-Hop", "1", "Keep-Alive", "timeout=5",
				"Proxy-Authorization", "Basic eA==", "Te", "gzip", "X-Kept", "yes"},
			want:   map[string]string{"X-Kept": "yes"},
			absent: []string{"X-Secret-Hop", "Keep-Alive", "Proxy-Authorization", "Te", "Connection"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			res, e := get(t, front, tc.path, tc.header...)
			require.Equal(t, http.StatusOK, res.StatusCode)
			for k, v := range tc.want {
				assert.Equal(t, v, strings.Join(e.Header.Values(k), ", "), k)
			}
			for _, k := range tc.absent {
				assert.Empty(t, e.Header.Values(k), k)
			}
			if tc.host != "" {
				assert.Equal(t, tc.host, e.Host)
			}
			assert.Equal(t, "1.1 skyport/test", res.Header.Get("Via"))
			assert.NotEmpty(t, res.Header.Get("X-Kong-Upstream-Latency"))
			assert.NotEmpty(t, res.Header.Get("X-Kong-Proxy-Latency"))
			assert.Equal(t, "skyport/test", res.Header.Get("Server"))
		})
	}
}

func TestResponseHeaders(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "origin/1")
		w.Header().Set("Connection", "X-Drop")
		w.Header().Set("X-Drop", "1")
		w.WriteHeader(http.StatusCreated)
	}))
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("r", "s", "/")},
	}

	t.Run("with latency headers", func(t *testing.T) {
		t.Parallel()
		_, front := newProxy(t, cfg)
		res, _ := get(t, front, "/")
		assert.Equal(t, http.StatusCreated, res.StatusCode)
		assert.Equal(t, "origin/1", res.Header.Get("Server"), "the upstream's Server header is kept")
		assert.Empty(t, res.Header.Get("X-Drop"))
		assert.NotEmpty(t, res.Header.Get("X-Kong-Upstream-Latency"))
	})
	t.Run("latency headers disabled", func(t *testing.T) {
		t.Parallel()
		_, front := newProxy(t, cfg, func(o *proxy.Options) { o.LatencyHeaders = false })
		res, _ := get(t, front, "/")
		assert.Empty(t, res.Header.Get("X-Kong-Upstream-Latency"))
		assert.Empty(t, res.Header.Get("X-Kong-Proxy-Latency"))
	})
}

func TestHTTPSOnlyRoute(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	upgrade := route("upgrade", "s", "/upgrade")
	upgrade.Protocols = []string{"https"}
	redirect := route("redirect", "s", "/redirect")
	redirect.Protocols = []string{"https"}
	redirect.HTTPSRedirectStatusCode = http.StatusMovedPermanently
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{upgrade, redirect},
	}
	_, front := newProxy(t, cfg)
	front.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	res, e := get(t, front, "/upgrade/x")
	assert.Equal(t, http.StatusUpgradeRequired, res.StatusCode)
	// kong/runloop/handler.lua: kong.response.error(426, …) with the
	// Connection and Upgrade headers.
	assert.Equal(t, kongJSON(res, "Please use HTTPS protocol"), e.Body)
	assert.Equal(t, "TLS/1.2, HTTP/1.1", res.Header.Get("Upgrade"))
	assert.NotEmpty(t, res.Header.Get("X-Kong-Response-Latency"))

	// kong.response.exit(redirect_status_code): no body; the Location
	// names nginx's $host (lowercase, no port) and the request URI as sent.
	res, e = get(t, front, "/redirect/x?a=b%20c", "Host", "API.example.com:8080")
	assert.Equal(t, http.StatusMovedPermanently, res.StatusCode)
	assert.Equal(t, "https://api.example.com/redirect/x?a=b%20c", res.Header.Get("Location"))
	assert.Empty(t, e.Body)
	assert.Equal(t, "0", res.Header.Get("Content-Length"))
	assert.Zero(t, b.hits.Load())
}

func TestKeepAlive(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("r", "s", "/")},
	}
	_, front := newProxy(t, cfg)
	for range 20 {
		res, _ := get(t, front, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	assert.Equal(t, int64(20), b.hits.Load())
	assert.Equal(t, int64(1), b.conns.Load(), "upstream connections are reused")
}

// TestRequestID: X-Kong-Request-Id goes upstream and back, the same id,
// replacing what the client sent (Kong's default headers and
// headers_upstream; spec/02-integration/05-proxy/33-request-id-header_spec.lua),
// and error bodies carry it.
func TestRequestID(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("r", "s", "/r")},
	}
	_, front := newProxy(t, cfg)
	hex32 := `^[0-9a-f]{32}$`

	res, e := get(t, front, "/r", "X-Kong-Request-Id", "client_value")
	require.Equal(t, http.StatusOK, res.StatusCode)
	rid := res.Header.Get("X-Kong-Request-Id")
	assert.Regexp(t, hex32, rid)
	assert.Equal(t, []string{rid}, e.Header.Values("X-Kong-Request-Id"), "the upstream saw the same id")

	res2, _ := get(t, front, "/r")
	assert.NotEqual(t, rid, res2.Header.Get("X-Kong-Request-Id"), "one id per request")

	res, e = get(t, front, "/nowhere")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Regexp(t, hex32, res.Header.Get("X-Kong-Request-Id"))
	assert.Equal(t, kongJSON(res, "no Route matched with those values"), e.Body)
	// Responses the proxy gives itself report their latency
	// (spec/02-integration/05-proxy/14-server_tokens_spec.lua).
	assert.NotEmpty(t, res.Header.Get("X-Kong-Response-Latency"))
	assert.Empty(t, res.Header.Get("X-Kong-Upstream-Latency"))

	t.Run("headers off", func(t *testing.T) {
		t.Parallel()
		_, front := newProxy(t, cfg, func(o *proxy.Options) { o.RequestID = false })
		res, e := get(t, front, "/r")
		assert.Empty(t, res.Header.Get("X-Kong-Request-Id"))
		assert.Empty(t, e.Header.Get("X-Kong-Request-Id"))
		res, e = get(t, front, "/nowhere")
		assert.Empty(t, res.Header.Get("X-Kong-Request-Id"))
		assert.Regexp(t, `"request_id":"[0-9a-f]{32}"`, e.Body, "error bodies carry the id all the same")
	})
}
