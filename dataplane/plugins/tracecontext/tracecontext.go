// Package tracecontext reads and writes the tracing headers Kong's
// tracing plugins propagate (kong/observability/tracing/propagation):
// w3c (traceparent), b3 (X-B3-*), b3-single (b3), jaeger (uber-trace-id),
// ot (ot-tracer-*), datadog (x-datadog-*), aws (X-Amzn-Trace-Id) and gcp
// (X-Cloud-Trace-Context), with Kong's extract / clear / inject /
// default_format configuration.
package tracecontext

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strconv"
)

// The formats, by Kong's names.
const (
	W3C      = "w3c"
	B3       = "b3"
	B3Single = "b3-single"
	Jaeger   = "jaeger"
	OT       = "ot"
	Datadog  = "datadog"
	AWS      = "aws"
	GCP      = "gcp"
	// Preserve, in inject, means the format extracted (or the default).
	Preserve = "preserve"
)

// TraceID and SpanID are W3C's 16- and 8-byte ids.
type (
	TraceID [16]byte
	SpanID  [8]byte
)

// String is the id in lowercase hex.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// String is the id in lowercase hex.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// IsZero reports an unset id.
func (t TraceID) IsZero() bool { return t == TraceID{} }

// IsZero reports an unset id.
func (s SpanID) IsZero() bool { return s == SpanID{} }

// NewTraceID returns a random trace id.
func NewTraceID() TraceID {
	var t TraceID
	_, _ = rand.Read(t[:])
	return t
}

// NewSpanID returns a random span id.
func NewSpanID() SpanID {
	var s SpanID
	_, _ = rand.Read(s[:])
	return s
}

// Context is a trace context read from, or written to, headers.
type Context struct {
	// Format is the format it was read from ("" when none was found).
	Format  string
	TraceID TraceID
	// SpanID is the sender's span: the parent of the receiver's.
	SpanID SpanID
	// ParentID is the sender's parent span, when the format carries it.
	ParentID SpanID
	// Sampled is the sender's decision; nil when it made none.
	Sampled *bool
	// Flags are W3C's trace flags as received.
	Flags byte
}

// Config is Kong's propagation record.
type Config struct {
	Extract       []string `json:"extract"`
	Clear         []string `json:"clear"`
	Inject        []string `json:"inject"`
	DefaultFormat string   `json:"default_format"`
}

// AllExtractors is the order Kong extracts in for the deprecated
// header_type.
var AllExtractors = []string{B3, W3C, Jaeger, OT, Datadog, AWS, GCP}

// FromHeaderType is Kong's get_plugin_params: a propagation record
// without extract, inject or clear takes them from the deprecated
// header_type (and default_header_type, when set).
func FromHeaderType(c Config, headerType, defaultHeaderType string) Config {
	if c.Extract != nil || c.Inject != nil || c.Clear != nil {
		return c
	}
	if defaultHeaderType != "" {
		c.DefaultFormat = defaultHeaderType
	}
	switch headerType {
	case "":
	case Preserve:
		c.Extract, c.Inject = AllExtractors, []string{Preserve}
	case "ignore":
		c.Inject = []string{c.DefaultFormat}
	default:
		c.Extract, c.Inject = AllExtractors, []string{Preserve, headerType}
	}
	return c
}

// Find returns the context of the first format of c.Extract found in
// h; ok is false when none was.
func (c Config) Find(h http.Header) (Context, bool) {
	for _, f := range c.Extract {
		if f == B3 {
			if ctx, ok := extractB3Single(h); ok {
				return ctx, true
			}
		}
		if ex := extractors[f]; ex != nil {
			if ctx, ok := ex(h); ok {
				ctx.Format = f
				return ctx, true
			}
		}
	}
	return Context{}, false
}

// ClearHeaders removes c.Clear's headers from h.
func (c Config) ClearHeaders(h http.Header) {
	for _, name := range c.Clear {
		h.Del(name)
	}
}

// InjectAll writes ctx in every format of c.Inject ("preserve" is
// extracted, the format ctx was read from, else c.DefaultFormat). It
// returns the trace id as each format wrote it (Kong's trace_id log
// value); nil when nothing was injected.
func (c Config) InjectAll(h http.Header, ctx Context, extracted string) map[string]string {
	var ids map[string]string
	for _, f := range c.Inject {
		if f == Preserve {
			f = extracted
			if f == "" {
				f = c.DefaultFormat
			}
		}
		if _, done := ids[f]; done {
			continue
		}
		if in := injectors[f]; in != nil {
			in(h, ctx)
			if ids == nil {
				ids = map[string]string{}
			}
			ids[f] = formatTraceID(f, ctx.TraceID)
		}
	}
	return ids
}

// formatTraceID is the trace id as format f spells it.
func formatTraceID(f string, t TraceID) string {
	switch f {
	case Datadog:
		return strconv.FormatUint(low64(t), 10)
	case OT:
		return hex.EncodeToString(t[8:])
	case AWS:
		s := t.String()
		return "1-" + s[:8] + "-" + s[8:]
	}
	return t.String()
}

func sampled(ctx Context) bool { return ctx.Sampled != nil && *ctx.Sampled }

func boolPtr(b bool) *bool { return &b }

// low64 is the lower half of a trace id, as a number (datadog).
func low64(t TraceID) uint64 { return binary.BigEndian.Uint64(t[8:]) }
