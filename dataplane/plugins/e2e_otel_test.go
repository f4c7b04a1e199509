package plugins_test

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/skyport-gw/skyport/dataplane/plugins"
)

// otelSpans decodes what the collector received: each body is an
// ExportTraceServiceRequest, whose wire format is TracesData's.
func otelSpans(t *testing.T, lr *logReceiver) (spans []*tracepb.Span, data []*tracepb.TracesData) {
	t.Helper()
	bodies, _ := lr.received()
	for _, b := range bodies {
		var td tracepb.TracesData
		require.NoError(t, proto.Unmarshal(b, &td))
		data = append(data, &td)
		for _, rs := range td.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
	}
	return spans, data
}

func attr(s *tracepb.Span, key string) any {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			switch {
			case kv.Value.GetStringValue() != "":
				return kv.Value.GetStringValue()
			case kv.Value.GetIntValue() != 0:
				return kv.Value.GetIntValue()
			default:
				return kv.Value.GetDoubleValue()
			}
		}
	}
	return nil
}

func TestOpenTelemetryEndToEnd(t *testing.T) {
	t.Parallel()
	collector := newLogReceiver(t)
	cfg := logSnapshot(t, "opentelemetry", map[string]any{
		"traces_endpoint":                  collector.URL + "/v1/traces",
		"headers":                          map[string]any{"X-Api-Key": "k"},
		"resource_attributes":              map[string]any{"deployment.environment": "test"},
		"http_response_header_for_traceid": "X-Trace-Id",
		"queue":                            map[string]any{"max_coalescing_delay": 0.01},
		"propagation":                      map[string]any{"extract": []any{"w3c", "b3"}, "inject": []any{"preserve", "b3"}, "default_format": "w3c"},
	})
	front := serveWith(t, &plugins.Options{NodeID: "node-1", Version: "9.9.9"}, cfg)

	const traceHex, parentHex = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	res, body := send(t, front, http.MethodGet, "/api/traced?x=1", map[string]string{
		"traceparent": "00-" + traceHex + "-" + parentHex + "-01"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, traceHex, res.Header.Get("X-Trace-Id"))
	up := body["headers"].(map[string]any)
	tp := strings.Split(up["Traceparent"].([]any)[0].(string), "-")
	require.Equal(t, []string{"00", traceHex}, tp[:2])
	require.Equal(t, "01", tp[3])
	require.NotEqual(t, parentHex, tp[2], "the upstream's parent is the balancer span")
	require.Equal(t, traceHex, up["X-B3-Traceid"].([]any)[0], "b3 injected too")

	// Not sampled by the caller: propagated, not exported.
	res, body = send(t, front, http.MethodGet, "/api/unsampled", map[string]string{
		"traceparent": "00-11111111111111111111111111111111-2222222222222222-00"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.True(t, strings.HasSuffix(body["headers"].(map[string]any)["Traceparent"].([]any)[0].(string), "-00"))

	// No context: a new trace, propagated as the default format.
	res, body = send(t, front, http.MethodGet, "/api/fresh", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	fresh := strings.Split(body["headers"].(map[string]any)["Traceparent"].([]any)[0].(string), "-")
	require.Len(t, fresh, 4)

	var spans []*tracepb.Span
	var data []*tracepb.TracesData
	require.Eventually(t, func() bool {
		spans, data = otelSpans(t, collector)
		return len(spans) == 4
	}, 20*time.Second, 10*time.Millisecond)
	_, hdrs := collector.received()
	require.Equal(t, "application/x-protobuf", hdrs[0].Get("Content-Type"))
	require.Equal(t, "k", hdrs[0].Get("X-Api-Key"))
	rs := data[0].ResourceSpans[0]
	res1 := map[string]string{}
	for _, kv := range rs.Resource.Attributes {
		res1[kv.Key] = kv.Value.GetStringValue()
	}
	require.Equal(t, map[string]string{"service.name": "kong", "service.instance.id": "node-1",
		"service.version": "9.9.9", "deployment.environment": "test"}, res1)
	require.Equal(t, "kong-internal", rs.ScopeSpans[0].Scope.Name)

	byTrace := map[string][]*tracepb.Span{}
	for _, s := range spans {
		k := hex.EncodeToString(s.TraceId)
		byTrace[k] = append(byTrace[k], s)
	}
	require.NotContains(t, byTrace, "11111111111111111111111111111111")
	traced := byTrace[traceHex]
	require.Len(t, traced, 2)
	root, balancer := traced[0], traced[1]
	if root.Name != "kong" {
		root, balancer = balancer, root
	}
	require.Equal(t, "kong", root.Name)
	require.Equal(t, tracepb.Span_SPAN_KIND_SERVER, root.Kind)
	require.Equal(t, parentHex, hex.EncodeToString(root.ParentSpanId))
	require.Equal(t, "GET", attr(root, "http.method"))
	require.Equal(t, int64(200), attr(root, "http.status_code"))
	require.Equal(t, "/api", attr(root, "http.route"))
	require.Equal(t, "http", attr(root, "http.scheme"))
	require.NotEmpty(t, attr(root, "kong.request.id"))
	require.True(t, strings.HasSuffix(attr(root, "http.url").(string), "/api/traced?x=1"))
	require.LessOrEqual(t, root.StartTimeUnixNano, root.EndTimeUnixNano)

	require.Equal(t, "kong.balancer", balancer.Name)
	require.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, balancer.Kind)
	require.Equal(t, tp[2], hex.EncodeToString(balancer.SpanId))
	require.Equal(t, root.SpanId, balancer.ParentSpanId)
	require.Equal(t, 1.0, attr(balancer, "try_count"))
	require.Equal(t, "127.0.0.1", attr(balancer, "net.peer.ip"))

	freshSpans := byTrace[fresh[1]]
	require.Len(t, freshSpans, 2)
}
