// Package opentelemetry is Kong's opentelemetry plugin for traces: the
// trace context is read from the request (Kong's propagation config: w3c,
// b3, jaeger, ot, datadog, aws, gcp), the data plane's spans are sent to
// traces_endpoint as OTLP/HTTP protobuf in batches (Kong's queue, 200
// spans a batch by default), and the context is passed to the upstream in
// the configured formats, with the upstream request's balancer span as
// its parent.
//
// The spans are Kong's with tracing_instrumentations "request" and
// "balancer": a server span "kong" per request (http.method, http.url,
// http.host, http.scheme, http.flavor, http.client_ip, net.peer.ip,
// kong.request.id, http.status_code, http.route) and a client span
// "kong.balancer" per upstream attempt (try_count, net.peer.ip,
// net.peer.port; http.status_code and an error status for a failed one),
// with the resource attributes service.name "kong", service.instance.id
// and service.version, and the scope "kong-internal". The data plane has
// no kong.conf: an unset sampling_rate samples every trace (Kong's
// tracing_sampling_rate defaults to 0.01), and a sampling decision the
// caller propagated is followed. logs_endpoint is refused by the schema.
package opentelemetry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/plugins/tracecontext"
)

// Name is the plugin's name.
const Name = "opentelemetry"

// maxErrorBody bounds how much of a failed export's answer is read.
const maxErrorBody = 1 << 10

// Config is opentelemetry's configuration.
type Config struct {
	TracesEndpoint     *string             `json:"traces_endpoint"`
	Headers            map[string]string   `json:"headers"`
	ResourceAttributes map[string]string   `json:"resource_attributes"`
	Queue              logqueue.Config     `json:"queue"`
	BatchSpanCount     *int                `json:"batch_span_count"`
	BatchFlushDelay    *int                `json:"batch_flush_delay"`
	ConnectTimeout     int                 `json:"connect_timeout"`
	SendTimeout        int                 `json:"send_timeout"`
	ReadTimeout        int                 `json:"read_timeout"`
	TraceIDHeader      *string             `json:"http_response_header_for_traceid"`
	HeaderType         *string             `json:"header_type"`
	SamplingRate       *float64            `json:"sampling_rate"`
	Propagation        tracecontext.Config `json:"propagation"`
}

// Options are what the data plane tells the plugin about itself.
type Options struct {
	// NodeID and Version are the resource's service.instance.id and
	// service.version (left out when empty).
	NodeID, Version string
	Metrics         *logqueue.Metrics
	Log             *slog.Logger
}

// OpenTelemetry is the handler of one plugin instance of one snapshot.
type OpenTelemetry struct {
	conf        Config
	propagation tracecontext.Config
	rate        float64
	endpoint    string
	client      *http.Client
	resource    []byte // the encoded Resource message
	scope       []byte // the encoded InstrumentationScope message
	queue       *logqueue.Queue
}

var (
	_ plugin.Handler      = (*OpenTelemetry)(nil)
	_ plugin.Accessor     = (*OpenTelemetry)(nil)
	_ plugin.HeaderFilter = (*OpenTelemetry)(nil)
	_ plugin.Logger       = (*OpenTelemetry)(nil)
	_ io.Closer           = (*OpenTelemetry)(nil)
)

// NewFactory returns the plugin's factory.
func NewFactory(o Options) plugin.Factory {
	return func(env plugin.Env) (plugin.Handler, error) { return New(env, o) }
}

// New builds the handler; nothing is started before the first span.
func New(env plugin.Env, o Options) (*OpenTelemetry, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building opentelemetry: %w", err)
	}
	if c.TracesEndpoint == nil || *c.TracesEndpoint == "" {
		return nil, fmt.Errorf("building opentelemetry: traces_endpoint is not set")
	}
	h := &OpenTelemetry{conf: c, endpoint: *c.TracesEndpoint, rate: 1}
	if c.SamplingRate != nil {
		h.rate = *c.SamplingRate
	}
	headerType := ""
	if c.HeaderType != nil {
		headerType = *c.HeaderType
	}
	h.propagation = tracecontext.FromHeaderType(c.Propagation, headerType, "")
	connect := time.Duration(c.ConnectTimeout) * time.Millisecond
	h.client = &http.Client{
		Timeout: time.Duration(c.ConnectTimeout+c.SendTimeout+c.ReadTimeout) * time.Millisecond,
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: connect}).DialContext,
			TLSHandshakeTimeout:   connect,
			ResponseHeaderTimeout: time.Duration(c.SendTimeout+c.ReadTimeout) * time.Millisecond,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var err error
	if h.resource, err = proto.Marshal(resource(o, c.ResourceAttributes)); err != nil {
		return nil, fmt.Errorf("building opentelemetry: encoding the resource: %w", err)
	}
	if h.scope, err = proto.Marshal(&commonpb.InstrumentationScope{Name: "kong-internal", Version: "0.1.0"}); err != nil {
		return nil, fmt.Errorf("building opentelemetry: encoding the scope: %w", err)
	}
	p := c.Queue.Params()
	if c.BatchSpanCount != nil && p.MaxBatchSize == 200 {
		p.MaxBatchSize = max(*c.BatchSpanCount, 1)
	}
	if c.BatchFlushDelay != nil && c.Queue.MaxCoalescingDelay == 1 {
		p.MaxCoalescingDelay = time.Duration(*c.BatchFlushDelay) * time.Second
	}
	h.queue = logqueue.New(Name, p, h.export, o.Metrics, o.Log)
	return h, nil
}

// resource is Kong's: its defaults, then the configured attributes.
func resource(o Options, extra map[string]string) *resourcepb.Resource {
	attrs := map[string]string{"service.name": "kong"}
	if o.NodeID != "" {
		attrs["service.instance.id"] = o.NodeID
	}
	if o.Version != "" {
		attrs["service.version"] = o.Version
	}
	for k, v := range extra {
		attrs[k] = v
	}
	r := &resourcepb.Resource{}
	for _, k := range sortedKeys(attrs) {
		r.Attributes = append(r.Attributes, str(k, attrs[k]))
	}
	return r
}

// Name implements plugin.Handler.
func (h *OpenTelemetry) Name() string { return Name }

// trace is one request's tracing state.
type trace struct {
	ctx       tracecontext.Context // as extracted; Format "" when none was
	root      tracecontext.SpanID
	balancer  tracecontext.SpanID // the upstream request's parent
	sampled   bool
	extracted bool
}

// begin reads the request's trace context and makes the request's ids.
func (h *OpenTelemetry) begin(r *http.Request) *trace {
	t := &trace{root: tracecontext.NewSpanID(), balancer: tracecontext.NewSpanID()}
	t.ctx, t.extracted = h.propagation.Find(r.Header)
	if !t.extracted {
		t.ctx = tracecontext.Context{TraceID: tracecontext.NewTraceID()}
	}
	switch {
	case t.ctx.Sampled != nil:
		t.sampled = *t.ctx.Sampled
	default:
		t.sampled = sample(h.rate)
	}
	return t
}

// sample draws a probability-based decision.
func sample(rate float64) bool {
	if rate >= 1 {
		return true
	}
	if rate <= 0 {
		return false
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return float64(binary.BigEndian.Uint64(b[:])>>11)/(1<<53) < rate
}

// Access implements plugin.Accessor: the trace context goes upstream.
func (h *OpenTelemetry) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	t := h.begin(r)
	pc.SetState(t)
	out := tracecontext.Context{TraceID: t.ctx.TraceID, SpanID: t.balancer, ParentID: t.root,
		Sampled: &t.sampled, Flags: t.ctx.Flags}
	h.propagation.ClearHeaders(r.Header)
	if ids := h.propagation.InjectAll(r.Header, out, t.ctx.Format); ids != nil {
		pc.SetVar(plugin.VarTraceID, ids)
	}
	return nil
}

// Header implements plugin.HeaderFilter: the trace id in
// http_response_header_for_traceid.
func (h *OpenTelemetry) Header(pc *plugin.Context, _ int, hdr http.Header) {
	if h.conf.TraceIDHeader == nil || *h.conf.TraceIDHeader == "" {
		return
	}
	if t := h.state(pc); t != nil {
		hdr.Add(*h.conf.TraceIDHeader, t.ctx.TraceID.String())
	}
}

// state returns the request's trace, begun here when the access phase
// did not run (a response given before it).
func (h *OpenTelemetry) state(pc *plugin.Context) *trace {
	if t, ok := pc.State().(*trace); ok {
		return t
	}
	if pc.Request == nil {
		return nil
	}
	t := h.begin(pc.Request)
	pc.SetState(t)
	return t
}

// Log implements plugin.Logger: a sampled request's spans are queued.
func (h *OpenTelemetry) Log(pc *plugin.Context, e *plugin.LogEntry) {
	t := h.state(pc)
	if t == nil || !t.sampled {
		return
	}
	for _, s := range spans(pc, e, t) {
		b, err := proto.Marshal(s)
		if err != nil {
			continue
		}
		_ = h.queue.Add(b) // a refusal is counted
	}
}

// Close exports what is queued and stops the queue.
func (h *OpenTelemetry) Close() error {
	err := h.queue.Close()
	h.client.CloseIdleConnections()
	return err
}

// export sends a batch of encoded spans as one OTLP/HTTP request: an
// ExportTraceServiceRequest with one ResourceSpans holding one
// ScopeSpans, assembled from the encoded messages.
func (h *OpenTelemetry) export(ctx context.Context, batch [][]byte) error {
	var scopeSpans []byte
	scopeSpans = protowire.AppendTag(scopeSpans, 1, protowire.BytesType)
	scopeSpans = protowire.AppendBytes(scopeSpans, h.scope)
	for _, s := range batch {
		scopeSpans = protowire.AppendTag(scopeSpans, 2, protowire.BytesType)
		scopeSpans = protowire.AppendBytes(scopeSpans, s)
	}
	var rs []byte
	rs = protowire.AppendTag(rs, 1, protowire.BytesType)
	rs = protowire.AppendBytes(rs, h.resource)
	rs = protowire.AppendTag(rs, 2, protowire.BytesType)
	rs = protowire.AppendBytes(rs, scopeSpans)
	body := protowire.AppendTag(make([]byte, 0, len(rs)+8), 1, protowire.BytesType)
	body = protowire.AppendBytes(body, rs)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("opentelemetry export request: %w", err)
	}
	for k, v := range h.conf.Headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-protobuf")
	}
	res, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("failed to send request: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		return fmt.Errorf("response error: %d, body: %s", res.StatusCode, msg)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return nil
}
