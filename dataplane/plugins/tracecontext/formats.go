package tracecontext

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

type (
	extractor func(h http.Header) (Context, bool)
	injector  func(h http.Header, ctx Context)
)

var extractors = map[string]extractor{
	W3C: extractW3C, B3: extractB3, Jaeger: extractJaeger, OT: extractOT,
	Datadog: extractDatadog, AWS: extractAWS, GCP: extractGCP,
}

var injectors = map[string]injector{
	W3C: injectW3C, B3: injectB3, B3Single: injectB3Single, Jaeger: injectJaeger, OT: injectOT,
	Datadog: injectDatadog, AWS: injectAWS, GCP: injectGCP,
}

// traceID parses a 16- or 32-digit hex trace id (a short one is padded
// on the left).
func traceID(s string) (TraceID, bool) {
	var t TraceID
	if (len(s) != 16 && len(s) != 32) || !isHex(s) {
		return t, false
	}
	b, _ := hex.DecodeString(s)
	copy(t[16-len(b):], b)
	return t, !t.IsZero()
}

// spanID parses a 16-digit hex span id.
func spanID(s string) (SpanID, bool) {
	var id SpanID
	if len(s) != 16 || !isHex(s) {
		return id, false
	}
	b, _ := hex.DecodeString(s)
	copy(id[:], b)
	return id, !id.IsZero()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// W3C: traceparent: 00-<trace id>-<parent id>-<flags>.
func extractW3C(h http.Header) (Context, bool) {
	parts := strings.Split(h.Get("Traceparent"), "-")
	if len(parts) < 4 || len(parts[0]) != 2 || parts[0] == "ff" || len(parts[3]) != 2 || !isHex(parts[3]) {
		return Context{}, false
	}
	t, ok1 := traceID(parts[1])
	s, ok2 := spanID(parts[2])
	if !ok1 || !ok2 || len(parts[1]) != 32 {
		return Context{}, false
	}
	flags, _ := strconv.ParseUint(parts[3], 16, 8)
	return Context{TraceID: t, SpanID: s, Flags: byte(flags), Sampled: boolPtr(flags&1 == 1)}, true
}

func injectW3C(h http.Header, ctx Context) {
	flags := ctx.Flags &^ 1
	if sampled(ctx) {
		flags |= 1
	}
	h.Set("Traceparent", fmt.Sprintf("00-%s-%s-%02x", ctx.TraceID, ctx.SpanID, flags))
}

// B3, multiple headers.
func extractB3(h http.Header) (Context, bool) {
	t, ok1 := traceID(h.Get("X-B3-Traceid"))
	s, ok2 := spanID(h.Get("X-B3-Spanid"))
	if !ok1 || !ok2 {
		return Context{}, false
	}
	ctx := Context{TraceID: t, SpanID: s}
	ctx.ParentID, _ = spanID(h.Get("X-B3-Parentspanid"))
	switch h.Get("X-B3-Sampled") {
	case "1", "true":
		ctx.Sampled = boolPtr(true)
	case "0", "false":
		ctx.Sampled = boolPtr(false)
	}
	if h.Get("X-B3-Flags") == "1" {
		ctx.Sampled = boolPtr(true)
	}
	return ctx, true
}

func injectB3(h http.Header, ctx Context) {
	h.Set("X-B3-Traceid", ctx.TraceID.String())
	h.Set("X-B3-Spanid", ctx.SpanID.String())
	if !ctx.ParentID.IsZero() {
		h.Set("X-B3-Parentspanid", ctx.ParentID.String())
	}
	h.Set("X-B3-Sampled", b01(sampled(ctx)))
}

// B3 single: b3: <trace id>-<span id>[-<sampled>[-<parent id>]].
func extractB3Single(h http.Header) (Context, bool) {
	parts := strings.Split(h.Get("B3"), "-")
	if len(parts) < 2 {
		return Context{}, false
	}
	t, ok1 := traceID(parts[0])
	s, ok2 := spanID(parts[1])
	if !ok1 || !ok2 {
		return Context{}, false
	}
	ctx := Context{Format: B3Single, TraceID: t, SpanID: s}
	if len(parts) > 2 {
		switch parts[2] {
		case "1", "d":
			ctx.Sampled = boolPtr(true)
		case "0":
			ctx.Sampled = boolPtr(false)
		}
	}
	if len(parts) > 3 {
		ctx.ParentID, _ = spanID(parts[3])
	}
	return ctx, true
}

func injectB3Single(h http.Header, ctx Context) {
	v := ctx.TraceID.String() + "-" + ctx.SpanID.String() + "-" + b01(sampled(ctx))
	if !ctx.ParentID.IsZero() {
		v += "-" + ctx.ParentID.String()
	}
	h.Set("B3", v)
}

// Jaeger: uber-trace-id: <trace id>:<span id>:<parent id>:<flags>.
func extractJaeger(h http.Header) (Context, bool) {
	parts := strings.Split(h.Get("Uber-Trace-Id"), ":")
	if len(parts) != 4 {
		return Context{}, false
	}
	t, ok1 := traceID(leftPad(parts[0], 32))
	s, ok2 := spanID(leftPad(parts[1], 16))
	if !ok1 || !ok2 {
		return Context{}, false
	}
	ctx := Context{TraceID: t, SpanID: s}
	if parts[2] != "0" {
		ctx.ParentID, _ = spanID(leftPad(parts[2], 16))
	}
	flags, err := strconv.ParseUint(parts[3], 16, 8)
	if err == nil {
		ctx.Sampled = boolPtr(flags&1 == 1)
	}
	return ctx, true
}

func injectJaeger(h http.Header, ctx Context) {
	parent := "0"
	if !ctx.ParentID.IsZero() {
		parent = ctx.ParentID.String()
	}
	h.Set("Uber-Trace-Id", fmt.Sprintf("%s:%s:%s:%s", ctx.TraceID, ctx.SpanID, parent, b01(sampled(ctx))))
}

func leftPad(s string, n int) string {
	if len(s) < n && len(s) > 0 {
		return strings.Repeat("0", n-len(s)) + s
	}
	return s
}

// OpenTracing: ot-tracer-traceid, ot-tracer-spanid, ot-tracer-sampled.
func extractOT(h http.Header) (Context, bool) {
	t, ok1 := traceID(h.Get("Ot-Tracer-Traceid"))
	s, ok2 := spanID(h.Get("Ot-Tracer-Spanid"))
	if !ok1 || !ok2 {
		return Context{}, false
	}
	ctx := Context{TraceID: t, SpanID: s}
	switch h.Get("Ot-Tracer-Sampled") {
	case "1", "true":
		ctx.Sampled = boolPtr(true)
	case "0", "false":
		ctx.Sampled = boolPtr(false)
	}
	return ctx, true
}

func injectOT(h http.Header, ctx Context) {
	h.Set("Ot-Tracer-Traceid", hex.EncodeToString(ctx.TraceID[8:]))
	h.Set("Ot-Tracer-Spanid", ctx.SpanID.String())
	h.Set("Ot-Tracer-Sampled", b01(sampled(ctx)))
}

// Datadog: decimal 64-bit ids.
func extractDatadog(h http.Header) (Context, bool) {
	t, err1 := strconv.ParseUint(h.Get("X-Datadog-Trace-Id"), 10, 64)
	s, err2 := strconv.ParseUint(h.Get("X-Datadog-Parent-Id"), 10, 64)
	if err1 != nil || err2 != nil || t == 0 || s == 0 {
		return Context{}, false
	}
	var ctx Context
	binary.BigEndian.PutUint64(ctx.TraceID[8:], t)
	binary.BigEndian.PutUint64(ctx.SpanID[:], s)
	if p, err := strconv.Atoi(h.Get("X-Datadog-Sampling-Priority")); err == nil {
		ctx.Sampled = boolPtr(p > 0)
	}
	return ctx, true
}

func injectDatadog(h http.Header, ctx Context) {
	h.Set("X-Datadog-Trace-Id", strconv.FormatUint(low64(ctx.TraceID), 10))
	h.Set("X-Datadog-Parent-Id", strconv.FormatUint(binary.BigEndian.Uint64(ctx.SpanID[:]), 10))
	h.Set("X-Datadog-Sampling-Priority", b01(sampled(ctx)))
}

// AWS X-Ray: X-Amzn-Trace-Id: Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>.
func extractAWS(h http.Header) (Context, bool) {
	var ctx Context
	var okT, okS bool
	for _, kv := range strings.Split(h.Get("X-Amzn-Trace-Id"), ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch k {
		case "Root":
			p := strings.Split(v, "-")
			if len(p) == 3 && p[0] == "1" && len(p[1]) == 8 && len(p[2]) == 24 {
				ctx.TraceID, okT = traceID(p[1] + p[2])
			}
		case "Parent":
			ctx.SpanID, okS = spanID(v)
		case "Sampled":
			switch v {
			case "1":
				ctx.Sampled = boolPtr(true)
			case "0":
				ctx.Sampled = boolPtr(false)
			}
		}
	}
	return ctx, okT && okS
}

func injectAWS(h http.Header, ctx Context) {
	t := ctx.TraceID.String()
	h.Set("X-Amzn-Trace-Id", fmt.Sprintf("Root=1-%s-%s;Parent=%s;Sampled=%s", t[:8], t[8:], ctx.SpanID, b01(sampled(ctx))))
}

// GCP: X-Cloud-Trace-Context: <32 hex>/<decimal span id>;o=<0|1>.
func extractGCP(h http.Header) (Context, bool) {
	v := h.Get("X-Cloud-Trace-Context")
	tr, rest, ok := strings.Cut(v, "/")
	if !ok {
		return Context{}, false
	}
	span, opts, _ := strings.Cut(rest, ";")
	t, ok1 := traceID(tr)
	s, err := strconv.ParseUint(span, 10, 64)
	if !ok1 || len(tr) != 32 || err != nil || s == 0 {
		return Context{}, false
	}
	ctx := Context{TraceID: t}
	binary.BigEndian.PutUint64(ctx.SpanID[:], s)
	switch opts {
	case "o=1":
		ctx.Sampled = boolPtr(true)
	case "o=0":
		ctx.Sampled = boolPtr(false)
	}
	return ctx, true
}

func injectGCP(h http.Header, ctx Context) {
	h.Set("X-Cloud-Trace-Context", fmt.Sprintf("%s/%d;o=%s", ctx.TraceID, binary.BigEndian.Uint64(ctx.SpanID[:]), b01(sampled(ctx))))
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
