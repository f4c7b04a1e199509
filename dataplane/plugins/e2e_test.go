package plugins_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

const (
	aliceKey = "alice-secret-key"
	bobKey   = "bob-secret-key"
)

// upstream echoes the headers it received as JSON.
func upstream(t testing.TB) (host string, port int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "uri": r.URL.RequestURI()})
	}))
	t.Cleanup(srv.Close)
	h, p, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	port, err = strconv.Atoi(p)
	require.NoError(t, err)
	return h, port
}

// snapshot is one service and route with key-auth, acl, rate-limiting,
// cors and request-transformer, and two consumers: alice (group admin)
// and bob (no group).
func snapshot(t testing.TB, host string, port int, withPlugins bool) *model.Config {
	t.Helper()
	cfg := plugintest.Fixture()
	svc := model.NewService()
	svc.ID, svc.Name, svc.Host, svc.Port = plugintest.ServiceID, new("svc"), host, port
	rt := model.NewRoute()
	rt.ID, rt.Name, rt.Paths = plugintest.RouteID, new("rt"), []string{"/api"}
	rt.Service = &model.Ref{ID: plugintest.ServiceID}
	cfg.Services, cfg.Routes = []*model.Service{svc}, []*model.Route{rt}
	if !withPlugins {
		return cfg
	}
	cfg.KeyAuths = []*model.KeyAuth{
		{Base: model.Base{ID: "cred-alice"}, Key: aliceKey, Consumer: &model.Ref{ID: plugintest.AliceID}},
		{Base: model.Base{ID: "cred-bob"}, Key: bobKey, Consumer: &model.Ref{ID: plugintest.BobID}},
	}
	cfg.ACLs = []*model.ACL{{Base: model.Base{ID: "acl-1"}, Group: "admin", Consumer: &model.Ref{ID: plugintest.AliceID}}}
	onRoute := func(p *model.Plugin) *model.Plugin { p.Route = &model.Ref{ID: plugintest.RouteID}; return p }
	cfg.Plugins = []*model.Plugin{
		plugintest.Plugin(t, "p-key", "key-auth", map[string]any{"hide_credentials": true}),
		onRoute(plugintest.Plugin(t, "p-acl", "acl", map[string]any{"allow": []any{"admin"}})),
		plugintest.Plugin(t, "p-rl", "rate-limiting", map[string]any{"minute": 3}),
		plugintest.Plugin(t, "p-cors", "cors", map[string]any{"origins": []any{"https://app.example"}}),
		plugintest.Plugin(t, "p-rt", "request-transformer", map[string]any{"add": map[string]any{"headers": []any{"x-gateway:skyport"}}}),
	}
	return cfg
}

// serve runs the proxy with cfg behind a real listener, on the
// Frontend the data plane's listeners use (limits, numbered connections).
func serve(t testing.TB, cfg *model.Config) *proxytest.Server {
	t.Helper()
	px := proxy.New(proxy.Options{Registry: plugins.Registry(), Version: "test", RequestID: true, LatencyHeaders: true,
		Log: slog.New(slog.DiscardHandler), RetireTimeout: time.Second})
	require.NoError(t, px.Apply(context.Background(), cfg, 1, "test"))
	t.Cleanup(px.Close)
	front := proxytest.New(t, px.Frontend(nil))
	return front
}

func send(t *testing.T, front *proxytest.Server, method, path string, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, front.URL+path, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := front.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var body map[string]any
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &body), string(b))
	}
	return res, body
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	front := serve(t, snapshot(t, host, port, true))
	origin := map[string]string{"Origin": "https://app.example"}

	res, body := send(t, front, http.MethodGet, "/api", origin)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Equal(t, "No API key found in request", body["message"])
	require.Equal(t, "Key", res.Header.Get("WWW-Authenticate"))
	require.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"), "cors runs before auth")

	res, body = send(t, front, http.MethodGet, "/api", map[string]string{"apikey": bobKey})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Equal(t, "You cannot consume this service", body["message"])

	res, body = send(t, front, http.MethodOptions, "/api", map[string]string{"Origin": "https://app.example",
		"Access-Control-Request-Method": "GET"})
	require.Equal(t, http.StatusOK, res.StatusCode, "preflight answered before key-auth")
	require.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"))
	require.Nil(t, body)

	for i := 1; i <= 3; i++ {
		res, body = send(t, front, http.MethodGet, "/api?x=1", map[string]string{"apikey": aliceKey, "Origin": "https://app.example"})
		require.Equal(t, http.StatusOK, res.StatusCode, "request %d", i)
		require.Equal(t, strconv.Itoa(3-i), res.Header.Get("X-RateLimit-Remaining-Minute"))
		require.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"))
		headers := body["headers"].(map[string]any)
		require.Equal(t, []any{"skyport"}, headers["X-Gateway"])
		require.Equal(t, []any{"alice"}, headers["X-Consumer-Username"])
		require.Equal(t, []any{"admin"}, headers["X-Consumer-Groups"])
		require.Nil(t, headers["Apikey"], "hide_credentials")
	}
	res, body = send(t, front, http.MethodGet, "/api", map[string]string{"apikey": aliceKey})
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	require.Equal(t, "API rate limit exceeded", body["message"])
	require.Equal(t, res.Header.Get("X-Kong-Request-Id"), body["request_id"])
	require.NotEmpty(t, res.Header.Get("Retry-After"))
}

func TestChunkedBodyLimit(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-size", "request-size-limiting",
		map[string]any{"allowed_payload_size": 1, "size_unit": "kilobytes"})}
	front := serve(t, cfg)
	post := func(body io.Reader, length int64) *http.Response {
		req, err := http.NewRequest(http.MethodPost, front.URL+"/api", body)
		require.NoError(t, err)
		req.ContentLength = length
		res, err := front.Client().Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	require.Equal(t, http.StatusRequestEntityTooLarge, post(strings.NewReader(strings.Repeat("x", 2048)), 2048).StatusCode)
	require.Equal(t, http.StatusOK, post(strings.NewReader("small"), 5).StatusCode)
	// A chunked body is cut off while it streams: the upstream never gets it whole.
	res := post(io.MultiReader(strings.NewReader(strings.Repeat("x", 4096))), -1)
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
}
