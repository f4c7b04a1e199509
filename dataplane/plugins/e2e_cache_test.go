package plugins_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/plugins/proxycache"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

// countingUpstream answers every request with a numbered body; the
// response's Content-Type and Cache-Control come from the request's
// X-Want-Type and X-Want-CC headers.
func countingUpstream(t *testing.T) (host string, port int, calls *atomic.Int64) {
	t.Helper()
	calls = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		ct := r.Header.Get("X-Want-Type")
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		if cc := r.Header.Get("X-Want-CC"); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("X-RateLimit-Remaining-Minute", "7")
		_, _ = w.Write([]byte(`{"call":` + strconv.FormatInt(n, 10) + `}`))
	}))
	t.Cleanup(srv.Close)
	u := srv.Listener.Addr().(interface{ String() string }).String()
	h, p := splitHostPort(t, u)
	return h, p, calls
}

func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			p, err := strconv.Atoi(addr[i+1:])
			require.NoError(t, err)
			return addr[:i], p
		}
	}
	t.Fatalf("no port in %s", addr)
	return "", 0
}

// serveRegistry is serve with a registry of the test's own.
func serveRegistry(t *testing.T, cfg *model.Config, reg *plugin.Registry) *proxytest.Server {
	t.Helper()
	px := proxy.New(proxy.Options{Registry: reg, Version: "test", RequestID: true,
		Log: slog.New(slog.DiscardHandler), RetireTimeout: time.Second})
	require.NoError(t, px.Apply(context.Background(), cfg, 1, "test"))
	t.Cleanup(px.Close)
	front := proxytest.New(t, px.Frontend(nil))
	return front
}

// cacheRig is a proxy with proxy-cache, its store's Admin API and a
// clock the test moves.
type cacheRig struct {
	front *proxytest.Server
	admin *httptest.Server
	calls *atomic.Int64
	now   *atomic.Int64
}

func newCacheRig(t *testing.T, conf map[string]any, opts ...proxycache.StoreOption) *cacheRig {
	t.Helper()
	host, port, calls := countingUpstream(t)
	now := &atomic.Int64{}
	now.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Unix())
	opts = append(opts, proxycache.WithClock(func() time.Time { return time.Unix(now.Load(), 0) }))
	store := proxycache.NewStore(opts...)
	cfg := snapshot(t, host, port, false)
	conf["strategy"] = "memory"
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-cache", "proxy-cache", conf)}
	front := serveRegistry(t, cfg, plugins.RegistryWith(plugins.Options{ProxyCache: store}))
	admin := httptest.NewServer(store.API())
	t.Cleanup(admin.Close)
	return &cacheRig{front: front, admin: admin, calls: calls, now: now}
}

func (c *cacheRig) get(t *testing.T, path string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	return raw(t, c.front, http.MethodGet, c.front.URL+path, hdr)
}

// kongKey is Kong's cache key for an unauthenticated request on the
// fixture's route.
func kongKey(requestLine, method, params, headers string) string {
	sum := sha256.Sum256([]byte(plugintest.RouteID + "|" + method + "|" + requestLine + "|" + params + "|" + headers))
	return hex.EncodeToString(sum[:])
}

func TestEndToEndProxyCache(t *testing.T) {
	t.Parallel()
	c := newCacheRig(t, map[string]any{"storage_ttl": 600})
	res, body := c.get(t, "/api/items?b=2&a=1&a=0", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"))
	key := kongKey("GET /api/items", "GET", "a=0,1:b=2", "")
	require.Equal(t, key, res.Header.Get("X-Cache-Key"), "Kong's cache key")
	require.JSONEq(t, `{"call":1}`, body)

	res, body = c.get(t, "/api/items?a=1&b=2&a=0", nil)
	require.Equal(t, "Hit", res.Header.Get("X-Cache-Status"))
	require.Equal(t, key, res.Header.Get("X-Cache-Key"))
	require.Equal(t, "0", res.Header.Get("Age"))
	require.Equal(t, "application/json", res.Header.Get("Content-Type"))
	require.Empty(t, res.Header.Get("X-RateLimit-Remaining-Minute"), "rate-limit counts are not replayed")
	require.JSONEq(t, `{"call":1}`, body)
	require.EqualValues(t, 1, c.calls.Load())

	// Without a query the whole request line is in the key, as Kong's.
	res, _ = c.get(t, "/api/items", nil)
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"))
	require.Equal(t, kongKey("GET /api/items HTTP/1.1", "GET", "", ""), res.Header.Get("X-Cache-Key"))

	c.now.Add(200)
	res, _ = c.get(t, "/api/items?a=1&b=2&a=0", nil)
	require.Equal(t, "Hit", res.Header.Get("X-Cache-Status"))
	require.Equal(t, "200", res.Header.Get("Age"))
	c.now.Add(101)
	res, body = c.get(t, "/api/items?a=1&b=2&a=0", nil)
	require.Equal(t, "Refresh", res.Header.Get("X-Cache-Status"), "past cache_ttl")
	require.JSONEq(t, `{"call":3}`, body)
	res, body = c.get(t, "/api/items?a=1&b=2&a=0", nil)
	require.Equal(t, "Hit", res.Header.Get("X-Cache-Status"))
	require.JSONEq(t, `{"call":3}`, body)
	c.now.Add(601)
	res, _ = c.get(t, "/api/items?a=1&b=2&a=0", nil)
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"), "past storage_ttl")

	res, _ = raw(t, c.front, http.MethodPost, c.front.URL+"/api/items", nil)
	require.Equal(t, "Bypass", res.Header.Get("X-Cache-Status"), "POST is not cached by default")
	require.Empty(t, res.Header.Get("X-Cache-Key"))
	for range 2 {
		res, _ = c.get(t, "/api/page", http.Header{"X-Want-Type": {"text/html"}})
		require.Equal(t, "Bypass", res.Header.Get("X-Cache-Status"), "text/html is not cached by default")
	}
	require.EqualValues(t, 7, c.calls.Load())
}

func TestEndToEndProxyCacheAdminAPI(t *testing.T) {
	t.Parallel()
	c := newCacheRig(t, map[string]any{})
	res, _ := c.get(t, "/api/a?x=1", nil)
	key := res.Header.Get("X-Cache-Key")
	require.NotEmpty(t, key)

	adm := func(method, path string) (*http.Response, map[string]any) {
		r, b := raw(t, c.admin, method, c.admin.URL+path, nil)
		var out map[string]any
		if b != "" {
			require.NoError(t, json.Unmarshal([]byte(b), &out), b)
		}
		return r, out
	}
	r, entry := adm(http.MethodGet, "/proxy-cache/"+key)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Equal(t, `{"call":1}`, entry["body"])
	require.EqualValues(t, 200, entry["status"])
	require.EqualValues(t, 300, entry["ttl"])
	require.EqualValues(t, 1, entry["version"])
	require.Equal(t, "application/json", entry["headers"].(map[string]any)["Content-Type"])

	r, _ = adm(http.MethodGet, "/proxy-cache/p-cache/caches/"+key)
	require.Equal(t, http.StatusOK, r.StatusCode)
	r, _ = adm(http.MethodGet, "/proxy-cache/p-unknown/caches/"+key)
	require.Equal(t, http.StatusNotFound, r.StatusCode)
	r, _ = adm(http.MethodGet, "/proxy-cache/0000")
	require.Equal(t, http.StatusNotFound, r.StatusCode)

	r, _ = adm(http.MethodDelete, "/proxy-cache/"+key)
	require.Equal(t, http.StatusNoContent, r.StatusCode)
	r, _ = adm(http.MethodDelete, "/proxy-cache/"+key)
	require.Equal(t, http.StatusNotFound, r.StatusCode)
	res, _ = c.get(t, "/api/a?x=1", nil)
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"), "purged")

	r, _ = adm(http.MethodDelete, "/proxy-cache/p-cache/caches/"+key)
	require.Equal(t, http.StatusNoContent, r.StatusCode)
	res, _ = c.get(t, "/api/a?x=1", nil)
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"))
	r, _ = adm(http.MethodDelete, "/proxy-cache")
	require.Equal(t, http.StatusNoContent, r.StatusCode)
	res, _ = c.get(t, "/api/a?x=1", nil)
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"), "flushed")
}

func TestEndToEndProxyCacheControl(t *testing.T) {
	t.Parallel()
	c := newCacheRig(t, map[string]any{"cache_control": true})
	tests := []struct {
		desc   string
		path   string
		hdr    http.Header
		status string
		code   int
	}{
		{desc: "no max-age: nothing to keep", path: "/api/1", status: "Bypass", code: 200},
		{desc: "private", path: "/api/2", hdr: http.Header{"X-Want-Cc": {"private, max-age=60"}}, status: "Bypass", code: 200},
		{desc: "max-age stores", path: "/api/3", hdr: http.Header{"X-Want-Cc": {"max-age=60"}}, status: "Miss", code: 200},
		{desc: "then hits", path: "/api/3", status: "Hit", code: 200},
		{desc: "client no-cache", path: "/api/3", hdr: http.Header{"Cache-Control": {"no-cache"}}, status: "Bypass", code: 200},
		{desc: "client with credentials", path: "/api/3", hdr: http.Header{"Authorization": {"Bearer x"}}, status: "Bypass", code: 200},
		{desc: "only-if-cached, not cached", path: "/api/4", hdr: http.Header{"Cache-Control": {"only-if-cached"}}, code: 504},
	}
	for _, tc := range tests {
		res, _ := c.get(t, tc.path, tc.hdr)
		require.Equal(t, tc.code, res.StatusCode, tc.desc)
		require.Equal(t, tc.status, res.Header.Get("X-Cache-Status"), tc.desc)
	}
	c.now.Add(30)
	res, _ := c.get(t, "/api/3", http.Header{"Cache-Control": {"max-age=10"}, "X-Want-Cc": {"max-age=60"}})
	require.Equal(t, "Refresh", res.Header.Get("X-Cache-Status"), "older than the client accepts")
}

func TestEndToEndProxyCacheVaryAndBound(t *testing.T) {
	t.Parallel()
	c := newCacheRig(t, map[string]any{
		"vary_headers": []any{"X-Tenant"}, "vary_query_params": []any{"page"},
		"response_headers": map[string]any{"X-Cache-Key": false},
	}, proxycache.WithCapacity(8<<10))
	res, _ := c.get(t, "/api/v?page=1&junk=1", http.Header{"X-Tenant": {"a"}})
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"))
	require.Empty(t, res.Header.Get("X-Cache-Key"), "turned off")
	res, _ = c.get(t, "/api/v?page=1&junk=2", http.Header{"X-Tenant": {"a"}})
	require.Equal(t, "Hit", res.Header.Get("X-Cache-Status"), "junk does not vary the key")
	res, _ = c.get(t, "/api/v?page=1", http.Header{"X-Tenant": {"b"}})
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"), "X-Tenant does")
	res, _ = c.get(t, "/api/v?page=1", http.Header{"X-Tenant": {"b"}, "Kong-Debug": {"1"}})
	require.Equal(t, "Hit", res.Header.Get("X-Cache-Status"))
	require.Equal(t, kongKey("GET /api/v", "GET", "page=1", "X-Tenant=b"), res.Header.Get("X-Cache-Key"), "Kong-Debug shows it")

	// 8 KiB hold a handful of entries: filling more evicts the oldest.
	for i := range 40 {
		c.get(t, "/api/fill?page="+strconv.Itoa(i), nil)
	}
	res, _ = c.get(t, "/api/v?page=1", http.Header{"X-Tenant": {"a"}})
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"), "evicted")
}

// TestEndToEndProxyCacheByConsumer: an authenticated request's key starts
// with its consumer, so consumers never share an entry.
func TestEndToEndProxyCacheByConsumer(t *testing.T) {
	t.Parallel()
	host, port, calls := countingUpstream(t)
	cfg := snapshot(t, host, port, true)
	cfg.Plugins = []*model.Plugin{
		plugintest.Plugin(t, "p-key", "key-auth", nil),
		plugintest.Plugin(t, "p-cache", "proxy-cache", map[string]any{"strategy": "memory"}),
	}
	front := serveRegistry(t, cfg, plugins.RegistryWith(plugins.Options{ProxyCache: proxycache.NewStore()}))
	get := func(key string) *http.Response {
		res, _ := raw(t, front, http.MethodGet, front.URL+"/api/c?q=1", http.Header{"Apikey": {key}})
		return res
	}
	res := get(aliceKey)
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"))
	sum := sha256.Sum256([]byte(plugintest.AliceID + ":" + plugintest.RouteID + "|GET|GET /api/c|q=1|"))
	require.Equal(t, hex.EncodeToString(sum[:]), res.Header.Get("X-Cache-Key"))
	require.Equal(t, "Hit", get(aliceKey).Header.Get("X-Cache-Status"))
	require.Equal(t, "Miss", get(bobKey).Header.Get("X-Cache-Status"), "bob has his own entry")
	require.Equal(t, "Hit", get(bobKey).Header.Get("X-Cache-Status"))
	require.EqualValues(t, 2, calls.Load())
}

// TestEndToEndProxyCacheLargeBody: a response longer than an entry may
// be is not buffered but streams through, uncached, even without a
// Content-Length: the client reads its first part while the upstream
// still waits to send the rest. A short one is cached.
func TestEndToEndProxyCacheLargeBody(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	chunk := strings.Repeat("x", 16<<10)
	resume := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(chunk))
		w.(http.Flusher).Flush() // chunked: no Content-Length
		if r.URL.Query().Get("wait") != "" {
			select {
			case <-resume:
			case <-time.After(60 * time.Second):
				return
			}
			_, _ = w.Write([]byte(chunk))
		}
	}))
	t.Cleanup(srv.Close)
	host, port := splitHostPort(t, srv.Listener.Addr().String())
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-cache", "proxy-cache", map[string]any{"strategy": "memory"})}
	// Entries of at most 8 KiB.
	store := proxycache.NewStore(proxycache.WithCapacity(64 << 10))
	front := serveRegistry(t, cfg, plugins.RegistryWith(plugins.Options{ProxyCache: store}))

	res, err := front.Client().Get(front.URL + "/api/big?wait=1")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"))
	first := make([]byte, len(chunk))
	_, err = io.ReadFull(res.Body, first)
	require.NoError(t, err, "the first part arrives before the upstream sends the rest")
	close(resume)
	rest, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Len(t, rest, len(chunk), "then the rest")
	require.Zero(t, store.Used(), "too large to keep")

	res2, body := raw(t, front, http.MethodGet, front.URL+"/api/big", nil)
	require.Equal(t, "Miss", res2.Header.Get("X-Cache-Status"))
	require.Len(t, body, len(chunk))
	require.EqualValues(t, 2, calls.Load())
}

// TestBodyFilterBound: a body-filtering plugin without a bound of its own
// (response-transformer) reads at most Limits.FilterBodySize of the
// upstream's body; a larger body answers 502 instead of passing through
// unfiltered.
func TestBodyFilterBound(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		n := 100
		if r.URL.Query().Get("big") != "" {
			n = 8 << 10
		}
		_, _ = w.Write([]byte(`{"secret":"s","pad":"` + strings.Repeat("x", n) + `"}`))
	}))
	t.Cleanup(srv.Close)
	host, port := splitHostPort(t, srv.Listener.Addr().String())
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-resp", "response-transformer",
		map[string]any{"remove": map[string]any{"json": []any{"secret"}}})}
	px := proxy.New(proxy.Options{Registry: plugins.Registry(), Version: "test",
		Log: slog.New(slog.DiscardHandler), Limits: proxy.Limits{FilterBodySize: 4 << 10}})
	require.NoError(t, px.Apply(context.Background(), cfg, 1, "test"))
	t.Cleanup(px.Close)
	front := proxytest.New(t, px.Frontend(nil))

	res, body := raw(t, front, http.MethodGet, front.URL+"/api/small", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NotContains(t, body, "secret")
	res, body = raw(t, front, http.MethodGet, front.URL+"/api/big?big=1", nil)
	require.Equal(t, http.StatusBadGateway, res.StatusCode)
	require.NotContains(t, body, "secret")
}
