package tracecontext_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/tracecontext"
)

const (
	traceHex = "4bf92f3577b34da6a3ce929d0e0e4736"
	spanHex  = "00f067aa0ba902b7"
)

func TestExtract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		header  map[string]string
		format  string
		trace   string
		span    string
		sampled *bool
	}{
		{"w3c", map[string]string{"traceparent": "00-" + traceHex + "-" + spanHex + "-01"}, "w3c", traceHex, spanHex, ptr(true)},
		{"w3c unsampled", map[string]string{"traceparent": "00-" + traceHex + "-" + spanHex + "-00"}, "w3c", traceHex, spanHex, ptr(false)},
		{"b3", map[string]string{"X-B3-TraceId": traceHex, "X-B3-SpanId": spanHex, "X-B3-Sampled": "1"}, "b3", traceHex, spanHex, ptr(true)},
		{"b3 short trace id", map[string]string{"X-B3-TraceId": "a3ce929d0e0e4736", "X-B3-SpanId": spanHex}, "b3", "0000000000000000a3ce929d0e0e4736", spanHex, nil},
		{"b3 single", map[string]string{"b3": traceHex + "-" + spanHex + "-d"}, "b3-single", traceHex, spanHex, ptr(true)},
		{"jaeger", map[string]string{"uber-trace-id": traceHex + ":" + spanHex + ":0:1"}, "jaeger", traceHex, spanHex, ptr(true)},
		{"ot", map[string]string{"ot-tracer-traceid": traceHex, "ot-tracer-spanid": spanHex, "ot-tracer-sampled": "0"}, "ot", traceHex, spanHex, ptr(false)},
		{"datadog", map[string]string{"x-datadog-trace-id": "1", "x-datadog-parent-id": "2", "x-datadog-sampling-priority": "1"}, "datadog",
			"00000000000000000000000000000001", "0000000000000002", ptr(true)},
		{"aws", map[string]string{"X-Amzn-Trace-Id": "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=" + spanHex + ";Sampled=1"}, "aws", traceHex, spanHex, ptr(true)},
		{"gcp", map[string]string{"X-Cloud-Trace-Context": traceHex + "/1;o=1"}, "gcp", traceHex, "0000000000000001", ptr(true)},
		{"first in order wins", map[string]string{"traceparent": "00-" + traceHex + "-" + spanHex + "-01",
			"X-B3-TraceId": "11111111111111111111111111111111", "X-B3-SpanId": "2222222222222222"}, "b3",
			"11111111111111111111111111111111", "2222222222222222", nil},
	}
	c := tracecontext.Config{Extract: tracecontext.AllExtractors}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			ctx, ok := c.Find(h)
			require.True(t, ok)
			require.Equal(t, tt.format, ctx.Format)
			require.Equal(t, tt.trace, ctx.TraceID.String())
			require.Equal(t, tt.span, ctx.SpanID.String())
			require.Equal(t, tt.sampled, ctx.Sampled)
		})
	}
}

func TestExtractRefusesMalformed(t *testing.T) {
	t.Parallel()
	c := tracecontext.Config{Extract: tracecontext.AllExtractors}
	for _, v := range []string{"", "00-xyz-" + spanHex + "-01", "00-" + traceHex + "-0000000000000000-01",
		"ff-" + traceHex + "-" + spanHex + "-01", "00-00000000000000000000000000000000-" + spanHex + "-01"} {
		_, ok := c.Find(http.Header{"Traceparent": {v}})
		require.False(t, ok, v)
	}
}

func TestInjectRoundTrips(t *testing.T) {
	t.Parallel()
	formats := []string{"w3c", "b3", "b3-single", "jaeger", "aws", "gcp"}
	in := tracecontext.Context{TraceID: tracecontext.NewTraceID(), SpanID: tracecontext.NewSpanID(), Sampled: ptr(true)}
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			tracecontext.Config{Inject: []string{f}}.InjectAll(h, in, "")
			extract := f
			if f == "b3-single" {
				extract = "b3"
			}
			out, ok := tracecontext.Config{Extract: []string{extract}}.Find(h)
			require.True(t, ok, h)
			require.Equal(t, in.TraceID, out.TraceID)
			require.Equal(t, in.SpanID, out.SpanID)
			require.Equal(t, in.Sampled, out.Sampled)
		})
	}
}

func TestPreserveAndDefault(t *testing.T) {
	t.Parallel()
	c := tracecontext.Config{Inject: []string{"preserve"}, DefaultFormat: "w3c"}
	ctx := tracecontext.Context{TraceID: tracecontext.NewTraceID(), SpanID: tracecontext.NewSpanID()}
	h := http.Header{}
	ids := c.InjectAll(h, ctx, "")
	require.NotEmpty(t, h.Get("traceparent"), "nothing extracted: the default format")
	require.Equal(t, map[string]string{"w3c": ctx.TraceID.String()}, ids)
	ids = tracecontext.Config{Inject: []string{"aws", "datadog"}}.InjectAll(http.Header{}, ctx, "")
	require.Equal(t, "1-"+ctx.TraceID.String()[:8]+"-"+ctx.TraceID.String()[8:], ids["aws"])
	require.Regexp(t, `^\d+$`, ids["datadog"])
	h = http.Header{}
	c.InjectAll(h, ctx, "jaeger")
	require.NotEmpty(t, h.Get("uber-trace-id"))
	require.Empty(t, h.Get("traceparent"))
}

func TestFromHeaderType(t *testing.T) {
	t.Parallel()
	got := tracecontext.FromHeaderType(tracecontext.Config{DefaultFormat: "w3c"}, "preserve", "")
	require.Equal(t, tracecontext.AllExtractors, got.Extract)
	require.Equal(t, []string{"preserve"}, got.Inject)
	got = tracecontext.FromHeaderType(tracecontext.Config{DefaultFormat: "w3c"}, "ignore", "")
	require.Nil(t, got.Extract)
	require.Equal(t, []string{"w3c"}, got.Inject)
	set := tracecontext.Config{Extract: []string{"w3c"}, DefaultFormat: "w3c"}
	require.Equal(t, set, tracecontext.FromHeaderType(set, "b3", ""), "explicit propagation wins")
}

func ptr(b bool) *bool { return &b }
