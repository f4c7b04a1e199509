package plugins_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/freeport"
	"github.com/skyport-gw/skyport/internal/model"
)

// logReceiver is an HTTP log server: it keeps every request's body and
// headers.
type logReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
}

func newLogReceiver(t *testing.T) *logReceiver {
	t.Helper()
	lr := &logReceiver{}
	lr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		lr.mu.Lock()
		lr.bodies = append(lr.bodies, b)
		lr.headers = append(lr.headers, r.Header.Clone())
		lr.mu.Unlock()
	}))
	t.Cleanup(lr.Close)
	return lr
}

func (lr *logReceiver) received() ([][]byte, []http.Header) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return append([][]byte(nil), lr.bodies...), append([]http.Header(nil), lr.headers...)
}

// TestHTTPLogEndToEnd sends requests through the proxy with key-auth and
// a global http-log batching two entries, and checks Kong's serializer
// fields as the log server receives them.
func TestHTTPLogEndToEnd(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	lr := newLogReceiver(t)
	cfg := snapshot(t, host, port, false)
	cfg.KeyAuths = []*model.KeyAuth{{Base: model.Base{ID: "cred-alice"}, Key: aliceKey, Consumer: &model.Ref{ID: plugintest.AliceID}}}
	cfg.Plugins = []*model.Plugin{
		plugintest.Plugin(t, "p-key", "key-auth", nil),
		plugintest.Plugin(t, "p-corr", "correlation-id", nil),
		plugintest.Plugin(t, "p-log", "http-log", map[string]any{
			"http_endpoint": "http://logger:s3cret@" + lr.Listener.Addr().String() + "/logs",
			"headers":       map[string]any{"X-Tenant": "t1"},
			"queue":         map[string]any{"max_batch_size": 2, "max_coalescing_delay": 0.05},
		}),
	}
	front := serve(t, cfg)

	res, _ := send(t, front, http.MethodGet, "/api/x?a=1&a=2&b", map[string]string{"apikey": aliceKey, "Authorization": "Bearer t"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = send(t, front, http.MethodGet, "/api/y", nil)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	var entries []map[string]any
	require.Eventually(t, func() bool {
		bodies, _ := lr.received()
		entries = entries[:0]
		for _, b := range bodies {
			var batch []map[string]any
			require.NoError(t, json.Unmarshal(b, &batch), string(b))
			entries = append(entries, batch...)
		}
		return len(entries) == 2
	}, 20*time.Second, 10*time.Millisecond)
	_, hdrs := lr.received()
	require.Equal(t, "Basic bG9nZ2VyOnMzY3JldA==", hdrs[0].Get("Authorization"))
	require.Equal(t, "t1", hdrs[0].Get("X-Tenant"))
	require.Equal(t, "application/json", hdrs[0].Get("Content-Type"))

	ok, refused := entries[0], entries[1]
	if ok["response"].(map[string]any)["status"] != 200.0 {
		ok, refused = refused, ok
	}
	req := ok["request"].(map[string]any)
	require.Equal(t, "GET", req["method"])
	require.Equal(t, "/api/x?a=1&a=2&b", req["uri"])
	require.Equal(t, front.URL+"/api/x?a=1&a=2&b", req["url"])
	require.Equal(t, map[string]any{"a": []any{"1", "2"}, "b": true}, req["querystring"])
	headers := req["headers"].(map[string]any)
	require.Equal(t, "REDACTED", headers["authorization"])
	require.Equal(t, aliceKey, headers["apikey"])
	require.Equal(t, front.Listener.Addr().String(), headers["host"])
	require.NotEmpty(t, req["id"])
	require.Greater(t, req["size"], 0.0)
	require.Equal(t, "/x?a=1&a=2&b", ok["upstream_uri"])
	require.Equal(t, "200", ok["upstream_status"])
	require.Equal(t, "upstream", ok["source"])
	require.Equal(t, "127.0.0.1", ok["client_ip"])
	require.Equal(t, "default", ok["workspace_name"])
	require.Equal(t, headers["kong-request-id"], ok["correlation_id"], "correlation-id's value")
	require.Equal(t, plugintest.RouteID, ok["route"].(map[string]any)["id"])
	require.Equal(t, plugintest.ServiceID, ok["service"].(map[string]any)["id"])
	require.Equal(t, plugintest.AliceID, ok["consumer"].(map[string]any)["id"])
	require.Equal(t, map[string]any{"id": "cred-alice"}, ok["authenticated_entity"])
	resp := ok["response"].(map[string]any)
	require.Equal(t, "application/json", resp["headers"].(map[string]any)["content-type"])
	require.Greater(t, resp["size"], 0.0)
	lat := ok["latencies"].(map[string]any)
	for _, k := range []string{"kong", "proxy", "request", "receive"} {
		require.GreaterOrEqual(t, lat[k], 0.0, k)
	}
	tries := ok["tries"].([]any)
	require.Len(t, tries, 1)
	try := tries[0].(map[string]any)
	require.Equal(t, host, try["ip"])
	require.Equal(t, strconv.Itoa(port), strconv.Itoa(int(try["port"].(float64))))
	started := int64(ok["started_at"].(float64))
	require.InDelta(t, time.Now().UnixMilli(), started, float64(time.Minute.Milliseconds()))

	require.Equal(t, 401.0, refused["response"].(map[string]any)["status"])
	require.Equal(t, "kong", refused["source"])
	require.Equal(t, "", refused["upstream_uri"])
	require.Equal(t, -1.0, refused["latencies"].(map[string]any)["proxy"])
	require.Nil(t, refused["consumer"])
	require.Nil(t, refused["tries"])
}

// TestHTTPLogTriesAfterARetry: an upstream with a dead target and a live
// one; the request that tried the dead one first logs two tries, the
// first failed with 502.
func TestHTTPLogTriesAfterARetry(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	dead, err := freeport.Port()
	require.NoError(t, err)
	lr := newLogReceiver(t)
	cfg := snapshot(t, "pool", 80, false)
	u := model.NewUpstream()
	u.ID, u.Name = "u-1", "pool"
	cfg.Upstreams = []*model.Upstream{u}
	for i, target := range []string{"127.0.0.1:" + strconv.Itoa(dead), host + ":" + strconv.Itoa(port)} {
		tg := model.NewTarget()
		tg.ID, tg.Target, tg.Upstream = "t-"+strconv.Itoa(i), target, &model.Ref{ID: u.ID}
		cfg.Targets = append(cfg.Targets, tg)
	}
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-log", "http-log", map[string]any{
		"http_endpoint": lr.URL, "queue": map[string]any{"max_coalescing_delay": 0.01}})}
	front := serve(t, cfg)
	for range 2 {
		res, _ := send(t, front, http.MethodGet, "/api", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	var retried map[string]any
	require.Eventually(t, func() bool {
		bodies, _ := lr.received()
		for _, b := range bodies {
			var rec map[string]any
			require.NoError(t, json.Unmarshal(b, &rec))
			if tries, _ := rec["tries"].([]any); len(tries) == 2 {
				retried = rec
			}
		}
		return retried != nil
	}, 20*time.Second, 10*time.Millisecond)
	tries := retried["tries"].([]any)
	first, second := tries[0].(map[string]any), tries[1].(map[string]any)
	require.Equal(t, "failed", first["state"])
	require.Equal(t, 502.0, first["code"])
	require.Equal(t, float64(dead), first["port"])
	require.Nil(t, second["state"])
	require.Equal(t, float64(port), second["port"])
}
