package plugins_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
)

func TestZipkinEndToEnd(t *testing.T) {
	t.Parallel()
	collector := newLogReceiver(t)
	cfg := logSnapshot(t, "zipkin", map[string]any{
		"http_endpoint": collector.URL + "/api/v2/spans", "sample_ratio": 1,
		"static_tags": []any{map[string]any{"name": "env", "value": "test"}},
		"queue":       map[string]any{"max_batch_size": 10, "max_coalescing_delay": 0.01},
	})
	front := serveWith(t, &plugins.Options{NodeID: "node-1"}, cfg)
	const traceHex, parentHex = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	res, body := send(t, front, http.MethodGet, "/api/z", map[string]string{
		"X-B3-TraceId": traceHex, "X-B3-SpanId": parentHex, "X-B3-Sampled": "1", "Zipkin-Tags": "team=gw; tier = 1"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	up := body["headers"].(map[string]any)
	require.Equal(t, traceHex, up["X-B3-Traceid"].([]any)[0])
	proxySpanID := up["X-B3-Spanid"].([]any)[0].(string)

	var spans []map[string]any
	require.Eventually(t, func() bool {
		spans = nil
		bodies, _ := collector.received()
		for _, b := range bodies {
			var batch []map[string]any
			require.NoError(t, json.Unmarshal(b, &batch), string(b))
			spans = append(spans, batch...)
		}
		return len(spans) == 3
	}, 20*time.Second, 10*time.Millisecond)
	byName := map[string]map[string]any{}
	for _, s := range spans {
		require.Equal(t, traceHex, s["traceId"])
		require.Equal(t, map[string]any{"serviceName": "kong"}, s["localEndpoint"])
		byName[s["name"].(string)] = s
	}
	req, proxy, try := byName["GET"], byName["GET (proxy)"], byName["GET (balancer try 1)"]
	require.NotNil(t, req)
	require.NotNil(t, proxy)
	require.NotNil(t, try)
	require.Equal(t, "SERVER", req["kind"])
	require.Equal(t, parentHex, req["parentId"])
	tags := req["tags"].(map[string]any)
	require.Equal(t, "kong", tags["lc"])
	require.Equal(t, "GET", tags["http.method"])
	require.Equal(t, "/api/z", tags["http.path"])
	require.Equal(t, "200", tags["http.status_code"])
	require.Equal(t, "test", tags["env"])
	require.Equal(t, "gw", tags["team"])
	require.Equal(t, "1", tags["tier"])
	require.Equal(t, "node-1", tags["kong.node.id"])
	require.Equal(t, proxySpanID, proxy["id"])
	require.Equal(t, req["id"], proxy["parentId"])
	require.Equal(t, plugintest.ServiceID, proxy["tags"].(map[string]any)["kong.service"])
	require.Equal(t, "svc", proxy["remoteEndpoint"].(map[string]any)["serviceName"])
	var notes []string
	for _, a := range proxy["annotations"].([]any) {
		notes = append(notes, a.(map[string]any)["value"].(string))
	}
	require.Equal(t, []string{"kas", "kaf", "khs", "khf", "kbs", "kbf"}, notes)
	require.Equal(t, "CLIENT", try["kind"])
	require.Equal(t, "1", try["tags"].(map[string]any)["kong.balancer.try"])
	require.Equal(t, "127.0.0.1", try["remoteEndpoint"].(map[string]any)["ipv4"])

	// Not sampled: propagated, nothing reported.
	res, body = send(t, front, http.MethodGet, "/api/quiet", map[string]string{
		"X-B3-TraceId": "11111111111111111111111111111111", "X-B3-SpanId": "2222222222222222", "X-B3-Sampled": "0"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "0", body["headers"].(map[string]any)["X-B3-Sampled"].([]any)[0])
}
