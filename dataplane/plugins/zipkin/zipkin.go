// Package zipkin is Kong's zipkin plugin: the trace context is read from
// the request (Kong's propagation config, b3 by default), a sampled
// request's spans are sent to http_endpoint as Zipkin v2 JSON in batches
// (Kong's queue), and the context is passed to the upstream with the
// proxy span as its parent.
//
// The spans are Kong's (kong/plugins/zipkin/handler.lua): a SERVER span
// named for the method (or method and path) with the tags lc, http.method,
// http.host, http.path, http.protocol, http.status_code, kong.consumer,
// kong.credential, kong.node.id, the static tags and the tags_header
// tags; a CLIENT "… (proxy)" span with the service and route tags and the
// phase annotations (krs, kas, kaf, khs, khf, kbs, kbf) or durations; and
// a CLIENT "… (balancer try N)" span per upstream attempt. The phase times
// are the data plane's: the access phase ends when the upstream request
// is sent, the header filter runs when its response arrives.
package zipkin

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/plugins/tracecontext"
)

// Name is the plugin's name.
const Name = "zipkin"

const maxErrorBody = 1 << 10

// StaticTag is one of config.static_tags.
type StaticTag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Config is zipkin's configuration.
type Config struct {
	LocalServiceName   string              `json:"local_service_name"`
	HTTPEndpoint       *string             `json:"http_endpoint"`
	SampleRatio        float64             `json:"sample_ratio"`
	DefaultServiceName *string             `json:"default_service_name"`
	IncludeCredential  bool                `json:"include_credential"`
	TraceIDByteCount   int                 `json:"traceid_byte_count"`
	HeaderType         string              `json:"header_type"`
	DefaultHeaderType  string              `json:"default_header_type"`
	TagsHeader         string              `json:"tags_header"`
	StaticTags         []StaticTag         `json:"static_tags"`
	HTTPSpanName       string              `json:"http_span_name"`
	ConnectTimeout     int                 `json:"connect_timeout"`
	SendTimeout        int                 `json:"send_timeout"`
	ReadTimeout        int                 `json:"read_timeout"`
	TraceIDHeader      *string             `json:"http_response_header_for_traceid"`
	PhaseDuration      string              `json:"phase_duration_flavor"`
	Queue              logqueue.Config     `json:"queue"`
	Propagation        tracecontext.Config `json:"propagation"`
}

// Options are what the data plane tells the plugin about itself.
type Options struct {
	// NodeID is the kong.node.id tag.
	NodeID  string
	Metrics *logqueue.Metrics
	Log     *slog.Logger
}

// Zipkin is the handler of one plugin instance of one snapshot.
type Zipkin struct {
	conf        Config
	nodeID      string
	propagation tracecontext.Config
	client      *http.Client
	queue       *logqueue.Queue
}

var (
	_ plugin.Handler      = (*Zipkin)(nil)
	_ plugin.Accessor     = (*Zipkin)(nil)
	_ plugin.HeaderFilter = (*Zipkin)(nil)
	_ plugin.Logger       = (*Zipkin)(nil)
	_ io.Closer           = (*Zipkin)(nil)
)

// NewFactory returns the plugin's factory.
func NewFactory(o Options) plugin.Factory {
	return func(env plugin.Env) (plugin.Handler, error) {
		var c Config
		if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
			return nil, fmt.Errorf("building zipkin: %w", err)
		}
		h := &Zipkin{conf: c, nodeID: o.NodeID,
			propagation: tracecontext.FromHeaderType(c.Propagation, c.HeaderType, c.DefaultHeaderType)}
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
		h.queue = logqueue.New(Name, c.Queue.Params(), h.report, o.Metrics, o.Log)
		return h, nil
	}
}

// Name implements plugin.Handler.
func (h *Zipkin) Name() string { return Name }

// trace is one request's tracing state.
type trace struct {
	ctx          tracecontext.Context
	traceID      []byte // 8 or 16 bytes, as reported
	requestSpan  tracecontext.SpanID
	parent       tracecontext.SpanID // the caller's span; zero for none
	proxySpan    tracecontext.SpanID
	sampled      bool
	name         string
	accessStart  time.Time
	extractedFmt string
}

func (h *Zipkin) begin(pc *plugin.Context, r *http.Request) *trace {
	t := &trace{requestSpan: tracecontext.NewSpanID(), proxySpan: tracecontext.NewSpanID(), accessStart: time.Now()}
	ctx, ok := h.propagation.Find(r.Header)
	if ok {
		t.extractedFmt = ctx.Format
		t.parent = ctx.SpanID
		t.traceID = trimTraceID(ctx.TraceID)
	} else {
		ctx.TraceID = tracecontext.NewTraceID()
		if h.conf.TraceIDByteCount == 8 {
			clear(ctx.TraceID[:8])
		}
		t.traceID = trimTraceID(ctx.TraceID)
	}
	t.ctx = ctx
	if ctx.Sampled != nil {
		t.sampled = *ctx.Sampled
	} else {
		t.sampled = rand.Float64() < h.conf.SampleRatio //nolint:gosec // sampling, not a secret
	}
	t.name = r.Method
	if h.conf.HTTPSpanName == "method_path" {
		t.name += " " + r.URL.Path
	}
	if pc.Start.IsZero() {
		pc.Start = t.accessStart
	}
	return t
}

// trimTraceID reports a trace id whose upper half is zero as 8 bytes.
func trimTraceID(t tracecontext.TraceID) []byte {
	if [8]byte(t[:8]) == [8]byte{} {
		return t[8:]
	}
	return t[:]
}

// Access implements plugin.Accessor: the context goes upstream with the
// proxy span as the parent.
func (h *Zipkin) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	t := h.begin(pc, r)
	pc.SetState(t)
	out := tracecontext.Context{TraceID: t.ctx.TraceID, SpanID: t.proxySpan, ParentID: t.requestSpan,
		Sampled: &t.sampled, Flags: t.ctx.Flags}
	h.propagation.ClearHeaders(r.Header)
	if ids := h.propagation.InjectAll(r.Header, out, t.extractedFmt); ids != nil {
		pc.SetVar(plugin.VarTraceID, ids)
	}
	return nil
}

func (h *Zipkin) state(pc *plugin.Context) *trace {
	if t, ok := pc.State().(*trace); ok {
		return t
	}
	if pc.Request == nil {
		return nil
	}
	t := h.begin(pc, pc.Request)
	pc.SetState(t)
	return t
}

// Header implements plugin.HeaderFilter.
func (h *Zipkin) Header(pc *plugin.Context, _ int, hdr http.Header) {
	if h.conf.TraceIDHeader == nil || *h.conf.TraceIDHeader == "" {
		return
	}
	if t := h.state(pc); t != nil {
		hdr.Add(*h.conf.TraceIDHeader, hex.EncodeToString(t.traceID))
	}
}

// Log implements plugin.Logger: a sampled request's spans are queued.
func (h *Zipkin) Log(pc *plugin.Context, e *plugin.LogEntry) {
	t := h.state(pc)
	if t == nil || !t.sampled || h.conf.HTTPEndpoint == nil || *h.conf.HTTPEndpoint == "" {
		return
	}
	for _, s := range h.spans(pc, e, t) {
		_ = h.queue.Add(s.encode()) // a refusal is counted
	}
}

// Close reports what is queued and stops the queue.
func (h *Zipkin) Close() error {
	err := h.queue.Close()
	h.client.CloseIdleConnections()
	return err
}

// report posts a batch of spans as a JSON array.
func (h *Zipkin) report(ctx context.Context, batch [][]byte) error {
	body := make([]byte, 0, 2+len(batch)*512)
	body = append(body, '[')
	for i, s := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, s...)
	}
	body = append(body, ']')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *h.conf.HTTPEndpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("zipkin request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("zipkin request failed: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		return fmt.Errorf("zipkin server responded unexpectedly: %d %s", res.StatusCode, msg)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return nil
}

// parseTags reads the tags_header value: name=value pairs separated by
// semicolons (Kong's request_tags.parse).
func parseTags(values []string) [][2]string {
	var out [][2]string
	for _, v := range values {
		for _, item := range strings.Split(v, ";") {
			name, value, ok := strings.Cut(item, "=")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			if !ok || name == "" || value == "" || strings.ContainsAny(name, " \t") {
				continue
			}
			out = append(out, [2]string{name, value})
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
