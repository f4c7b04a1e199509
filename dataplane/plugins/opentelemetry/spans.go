package opentelemetry

import (
	"sort"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/tracecontext"
)

// spans are the request's spans, as Kong's instrumentations make them
// (kong/observability/tracing/instrumentation.lua: request, balancer).
func spans(pc *plugin.Context, e *plugin.LogEntry, t *trace) []*tracepb.Span {
	end := pc.Start.Add(e.Total)
	r := e.Request
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		uri = r.URL.RequestURI()
	}
	flavor := "1.1"
	if r.ProtoMajor == 2 {
		flavor = "2.0"
	} else if r.ProtoMinor == 0 {
		flavor = "1.0"
	}
	route := ""
	if pc.Route != nil && len(pc.Route.Paths) > 0 {
		route = pc.Route.Paths[0]
	}
	root := &tracepb.Span{
		TraceId: t.ctx.TraceID[:], SpanId: t.root[:], Name: "kong",
		Kind:              tracepb.Span_SPAN_KIND_SERVER,
		StartTimeUnixNano: nanos(pc.Start), EndTimeUnixNano: nanos(end),
		Attributes: []*commonpb.KeyValue{
			str("http.method", r.Method),
			str("http.url", e.Scheme+"://"+e.Host+uri),
			str("http.host", e.Host),
			str("http.scheme", e.Scheme),
			str("http.flavor", flavor),
			str("http.client_ip", pc.ClientIP),
			str("net.peer.ip", pc.ClientIP),
			str("kong.request.id", e.RequestID),
			integer("http.status_code", int64(e.Status)),
			str("http.route", route),
		},
	}
	if !t.ctx.SpanID.IsZero() {
		root.ParentSpanId = t.ctx.SpanID[:]
	}
	out := []*tracepb.Span{root}
	for i, try := range e.Tries {
		id := t.balancer
		spanEnd := end
		if i < len(e.Tries)-1 || try.Failed {
			id = tracecontext.NewSpanID()
			spanEnd = try.Start.Add(try.Latency)
		}
		s := &tracepb.Span{
			TraceId: t.ctx.TraceID[:], SpanId: id[:], ParentSpanId: t.root[:], Name: "kong.balancer",
			Kind:              tracepb.Span_SPAN_KIND_CLIENT,
			StartTimeUnixNano: nanos(try.Start), EndTimeUnixNano: nanos(spanEnd),
			Attributes: []*commonpb.KeyValue{
				double("try_count", float64(i+1)),
				str("net.peer.ip", try.IP),
				double("net.peer.port", float64(try.Port)),
			},
		}
		if try.Failed {
			s.Attributes = append(s.Attributes, integer("http.status_code", int64(try.Code)))
			s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR}
		}
		out = append(out, s)
	}
	return out
}

func nanos(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano()) //nolint:gosec // times after 1970
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

// integer is for http.status_code, the one attribute Kong sends as an
// int_value; its other numbers are doubles.
func integer(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func double(k string, v float64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v}}}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
