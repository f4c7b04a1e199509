// Package logrecord builds the record Kong's logging plugins emit: the
// table kong.log.serialize returns (kong/pdk/log.lua), field for field —
// request (id, uri, url, querystring, method, headers with the
// authorization headers redacted, size, tls), upstream_uri,
// upstream_status, response (status, headers, size), latencies (kong,
// proxy, request, receive, in milliseconds), tries, authenticated_entity,
// route, service, consumer, client_ip, started_at, source,
// workspace_name, and trace_id and correlation_id when a tracing plugin or
// correlation-id ran.
//
// Where the data plane differs: there are no workspaces, so workspace (an
// id) is absent and workspace_name is "default"; request.tls.cipher is
// the IANA name Go reports (TLS_AES_128_GCM_SHA256), not OpenSSL's; a
// try's ip is the target as configured (a host name is not resolved for
// the log).
package logrecord

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/uriargs"
	"github.com/skyport-gw/skyport/internal/model"
)

// Record is one finished request, as Kong serializes it.
type Record struct {
	Request             Request         `json:"request"`
	UpstreamURI         string          `json:"upstream_uri"`
	UpstreamStatus      string          `json:"upstream_status"`
	Response            Response        `json:"response"`
	Latencies           Latencies       `json:"latencies"`
	Tries               []Try           `json:"tries,omitempty"`
	AuthenticatedEntity *Credential     `json:"authenticated_entity,omitempty"`
	Route               *model.Route    `json:"route,omitempty"`
	Service             *model.Service  `json:"service,omitempty"`
	Consumer            *model.Consumer `json:"consumer,omitempty"`
	ClientIP            string          `json:"client_ip"`
	StartedAt           int64           `json:"started_at"`
	Source              string          `json:"source"`
	WorkspaceName       string          `json:"workspace_name"`
	// TraceID and CorrelationID are set by the tracing plugins and
	// correlation-id when they ran (plugin.VarTraceID, VarCorrelationID).
	TraceID       map[string]string `json:"trace_id,omitempty"`
	CorrelationID string            `json:"correlation_id,omitempty"`
}

// Request is the client's request.
type Request struct {
	ID          string         `json:"id"`
	URI         string         `json:"uri"`
	URL         string         `json:"url"`
	Querystring map[string]any `json:"querystring"`
	Method      string         `json:"method"`
	Headers     map[string]any `json:"headers"`
	Size        int64          `json:"size"`
	TLS         *TLS           `json:"tls,omitempty"`
}

// TLS describes a TLS client connection.
type TLS struct {
	Version      string `json:"version"`
	Cipher       string `json:"cipher"`
	ClientVerify string `json:"client_verify"`
}

// Response is the response sent to the client.
type Response struct {
	Status  int            `json:"status"`
	Headers map[string]any `json:"headers"`
	Size    int64          `json:"size"`
}

// Latencies are in milliseconds: kong is the time spent before the
// upstream was called (or until the data plane answered), proxy the time
// waiting for the upstream (-1 when not proxied), request the whole
// request, receive the relaying of the response body.
type Latencies struct {
	Kong    int64 `json:"kong"`
	Proxy   int64 `json:"proxy"`
	Request int64 `json:"request"`
	Receive int64 `json:"receive"`
}

// Try is one upstream attempt.
type Try struct {
	IP                string `json:"ip"`
	Port              int    `json:"port"`
	BalancerStart     int64  `json:"balancer_start"`
	BalancerStartNS   int64  `json:"balancer_start_ns"`
	BalancerLatency   int64  `json:"balancer_latency"`
	BalancerLatencyNS int64  `json:"balancer_latency_ns"`
	State             string `json:"state,omitempty"`
	Code              int    `json:"code,omitempty"`
}

// Credential is Kong's authenticated_entity: the credential's id (Kong
// fills consumer_id only for credentials that carry one).
type Credential struct {
	ID string `json:"id"`
}

// Redacted replaces the authorization headers' values.
const Redacted = "REDACTED"

// New builds the record of the request pc and e describe.
func New(pc *plugin.Context, e *plugin.LogEntry) *Record {
	r := e.Request
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		uri = r.URL.RequestURI()
	}
	rec := &Record{
		Request: Request{ID: e.RequestID, URI: uri, Method: r.Method,
			URL:         e.Scheme + "://" + e.Host + portSuffix(e.Port) + uri,
			Querystring: Query(r.URL.RawQuery), Headers: RequestHeaders(r),
			Size: RequestSize(r), TLS: tlsInfo(r.TLS)},
		UpstreamURI: e.UpstreamURI,
		Response: Response{Status: e.Status, Headers: ResponseHeaders(e.ResponseHeader),
			Size: ResponseSize(e)},
		Latencies: Latencies{Kong: ms(e.Proxy), Proxy: -1, Request: ms(e.Total), Receive: ms(e.Receive)},
		ClientIP:  pc.ClientIP, StartedAt: pc.Start.UnixMilli(), Source: "kong", WorkspaceName: "default",
		Route: pc.Route, Service: pc.Service, Consumer: pc.Consumer,
	}
	if e.Proxied {
		rec.Source = "upstream"
		rec.Latencies.Proxy = ms(e.Upstream)
		rec.UpstreamStatus = fmt.Sprint(e.UpstreamStatus)
	}
	if pc.Credential != nil {
		rec.AuthenticatedEntity = &Credential{ID: pc.Credential.Meta().ID}
	}
	rec.TraceID, _ = pc.Var(plugin.VarTraceID).(map[string]string)
	rec.CorrelationID, _ = pc.Var(plugin.VarCorrelationID).(string)
	for _, t := range e.Tries {
		try := Try{IP: t.IP, Port: t.Port, BalancerStart: t.Start.UnixMilli(), BalancerStartNS: t.Start.UnixNano(),
			BalancerLatency: ms(t.Latency), BalancerLatencyNS: t.Latency.Nanoseconds()}
		if t.Failed {
			try.State, try.Code = "failed", t.Code
		}
		rec.Tries = append(rec.Tries, try)
	}
	return rec
}

// JSON returns the record of pc and e, JSON-encoded.
func JSON(pc *plugin.Context, e *plugin.LogEntry) ([]byte, error) {
	b, err := json.Marshal(New(pc, e))
	if err != nil {
		return nil, fmt.Errorf("encoding the log record: %w", err)
	}
	return b, nil
}

func portSuffix(port string) string {
	if port == "" {
		return ""
	}
	return ":" + port
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// Query is kong.request.get_query: an argument without '=' is true, a
// repeated one an array of its values (uriargs.Args.Values).
func Query(raw string) map[string]any {
	return uriargs.Parse(raw).Values()
}

// RequestHeaders are the request's headers by lowercase name, one value
// as a string and several as an array, with the host and the
// authorization headers redacted.
func RequestHeaders(r *http.Request) map[string]any {
	out := headers(r.Header, 1)
	if r.Host != "" {
		out["host"] = r.Host
	}
	for _, name := range []string{"authorization", "proxy-authorization"} {
		if _, ok := out[name]; ok {
			out[name] = Redacted
		}
	}
	return out
}

// ResponseHeaders are the response's headers by lowercase name.
func ResponseHeaders(h http.Header) map[string]any { return headers(h, 0) }

func headers(h http.Header, extra int) map[string]any {
	out := make(map[string]any, len(h)+extra)
	for k, vs := range h {
		name := strings.ToLower(k)
		switch len(vs) {
		case 0:
		case 1:
			out[name] = vs[0]
		default:
			list := make([]any, len(vs))
			for i, v := range vs {
				list[i] = v
			}
			out[name] = list
		}
	}
	return out
}

// RequestSize is nginx's $request_length: the request line, the headers
// and the body as declared.
func RequestSize(r *http.Request) int64 {
	n := int64(len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2)
	if r.Host != "" {
		n += int64(len("Host: ") + len(r.Host) + 2)
	}
	n += headerSize(r.Header) + 2
	if r.ContentLength > 0 {
		n += r.ContentLength
	}
	return n
}

// EntryRequestSize is RequestSize of e's request, or on the view (no
// Request) the size the proxy made of it alike (LogEntry.RequestSize).
func EntryRequestSize(e *plugin.LogEntry) int64 {
	if e.Request == nil {
		return e.RequestSize
	}
	return RequestSize(e.Request)
}

// ResponseSize is nginx's $bytes_sent: the status line, the headers and
// the body bytes sent. The headers are ResponseHeader's, or on the view
// (no ResponseHeader) ResponseHeaderSize.
func ResponseSize(e *plugin.LogEntry) int64 {
	fields := e.ResponseHeaderSize
	if e.ResponseHeader != nil {
		fields = headerSize(e.ResponseHeader)
	}
	return int64(len("HTTP/1.1 200 ")+len(http.StatusText(e.Status))+2) + fields + 2 + e.Bytes
}

func headerSize(h http.Header) int64 {
	var n int64
	for k, vs := range h {
		for _, v := range vs {
			n += int64(len(k) + 2 + len(v) + 2)
		}
	}
	return n
}

func tlsInfo(cs *tls.ConnectionState) *TLS {
	if cs == nil {
		return nil
	}
	verify := "NONE"
	if len(cs.PeerCertificates) > 0 {
		verify = "SUCCESS"
	}
	return &TLS{Version: tlsVersion(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite), ClientVerify: verify}
}

// tlsVersion spells a version as nginx's $ssl_protocol does.
func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}
