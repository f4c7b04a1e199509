package logrecord

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/uriargs"
	"github.com/skyport-gw/skyport/internal/jsontext"
)

// Encoder writes the record New builds straight to JSON, without the
// intermediate maps and reflection: the loggers' hot path. It keeps the
// JSON of the route, service and consumer entities it has seen (they are
// immutable within a snapshot), so make one per plugin handler.
type Encoder struct {
	entities sync.Map // entity pointer → []byte
}

// entity returns v's JSON, encoded once.
func (enc *Encoder) entity(key any, v any) []byte {
	if b, ok := enc.entities.Load(key); ok {
		return b.([]byte)
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("null")
	}
	enc.entities.Store(key, b)
	return b
}

// Append appends the JSON record of pc and e to dst: of e's Request and
// ResponseHeader, or on the view (no Request) of its View, its
// ResponseHeader or ResponseFields, and its sizes.
func (enc *Encoder) Append(dst []byte, pc *plugin.Context, e *plugin.LogEntry) []byte {
	var b []byte
	if e.Request == nil {
		b = appendViewRequest(dst, pc, e)
	} else {
		b = appendRequest(dst, e)
	}
	return enc.appendRest(b, pc, e)
}

// appendRequest writes the record's request of e.Request.
func appendRequest(dst []byte, e *plugin.LogEntry) []byte {
	r := e.Request
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		uri = r.URL.RequestURI()
	}
	b := append(dst, `{"request":{"id":`...)
	b = jsontext.AppendString(b, e.RequestID)
	b = append(b, `,"uri":`...)
	b = jsontext.AppendString(b, uri)
	b = append(b, `,"url":"`...)
	b = jsontext.AppendEscaped(b, e.Scheme)
	b = append(b, "://"...)
	b = jsontext.AppendEscaped(b, e.Host)
	if e.Port != "" {
		b = append(b, ':')
		b = jsontext.AppendEscaped(b, e.Port)
	}
	b = jsontext.AppendEscaped(b, uri)
	b = append(b, '"')
	b = append(b, `,"querystring":`...)
	b = appendQuery(b, r.URL.RawQuery)
	b = append(b, `,"method":`...)
	b = jsontext.AppendString(b, r.Method)
	b = append(b, `,"headers":`...)
	b = appendHeaders(b, r.Header, r.Host, true)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, RequestSize(r), 10)
	return appendTLS(b, r.TLS)
}

// appendViewRequest writes the record's request of e.View as
// appendRequest writes the adapted request's: its target, the query the
// plugins left (Context.UpstreamQuery), its fields but Host, grouped by
// name in their first order, and e.RequestSize.
func appendViewRequest(dst []byte, pc *plugin.Context, e *plugin.LogEntry) []byte {
	r := e.View
	path, query := r.Path(), r.Query()
	b := append(dst, `{"request":{"id":`...)
	b = jsontext.AppendString(b, e.RequestID)
	b = append(b, `,"uri":"`...)
	b = jsontext.AppendEscaped(b, string(path))
	if query != nil {
		b = append(b, '?')
		b = jsontext.AppendEscaped(b, string(query))
	}
	b = append(b, `","url":"`...)
	b = jsontext.AppendEscaped(b, e.Scheme)
	b = append(b, "://"...)
	b = jsontext.AppendEscaped(b, e.Host)
	if e.Port != "" {
		b = append(b, ':')
		b = jsontext.AppendEscaped(b, e.Port)
	}
	b = jsontext.AppendEscaped(b, string(path))
	if query != nil {
		b = append(b, '?')
		b = jsontext.AppendEscaped(b, string(query))
	}
	b = append(b, '"')
	b = append(b, `,"querystring":`...)
	q, changed := pc.UpstreamQuery()
	if !changed {
		q = string(query)
	}
	b = appendQuery(b, q)
	b = append(b, `,"method":`...)
	b = jsontext.AppendString(b, string(r.Method()))
	b = append(b, `,"headers":`...)
	b = appendFields(b, r.Header(), string(r.Host()), true)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, e.RequestSize, 10)
	return appendTLS(b, r.TLS())
}

// appendTLS writes the request's tls object, none without TLS.
func appendTLS(b []byte, cs *tls.ConnectionState) []byte {
	if t := tlsInfo(cs); t != nil {
		b = append(b, `,"tls":{"version":`...)
		b = jsontext.AppendString(b, t.Version)
		b = append(b, `,"cipher":`...)
		b = jsontext.AppendString(b, t.Cipher)
		b = append(b, `,"client_verify":`...)
		b = jsontext.AppendString(b, t.ClientVerify)
		b = append(b, '}')
	}
	return b
}

// appendRest writes what follows the request in the record.
func (enc *Encoder) appendRest(b []byte, pc *plugin.Context, e *plugin.LogEntry) []byte {
	b = append(b, `},"upstream_uri":`...)
	b = jsontext.AppendString(b, e.UpstreamURI)
	b = append(b, `,"upstream_status":"`...)
	if e.Proxied {
		b = strconv.AppendInt(b, int64(e.UpstreamStatus), 10)
	}
	b = append(b, `","response":{"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"headers":`...)
	if e.ResponseHeader != nil || e.ResponseFields == nil {
		b = appendHeaders(b, e.ResponseHeader, "", false)
	} else {
		b = appendFields(b, e.ResponseFields, "", false)
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, ResponseSize(e), 10)
	b = append(b, `},"latencies":{"kong":`...)
	b = strconv.AppendInt(b, ms(e.Proxy), 10)
	b = append(b, `,"proxy":`...)
	proxy := int64(-1)
	if e.Proxied {
		proxy = ms(e.Upstream)
	}
	b = strconv.AppendInt(b, proxy, 10)
	b = append(b, `,"request":`...)
	b = strconv.AppendInt(b, ms(e.Total), 10)
	b = append(b, `,"receive":`...)
	b = strconv.AppendInt(b, ms(e.Receive), 10)
	b = append(b, '}')
	if len(e.Tries) > 0 {
		b = append(b, `,"tries":[`...)
		for i, t := range e.Tries {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"ip":`...)
			b = jsontext.AppendString(b, t.IP)
			b = append(b, `,"port":`...)
			b = strconv.AppendInt(b, int64(t.Port), 10)
			b = append(b, `,"balancer_start":`...)
			b = strconv.AppendInt(b, t.Start.UnixMilli(), 10)
			b = append(b, `,"balancer_start_ns":`...)
			b = strconv.AppendInt(b, t.Start.UnixNano(), 10)
			b = append(b, `,"balancer_latency":`...)
			b = strconv.AppendInt(b, ms(t.Latency), 10)
			b = append(b, `,"balancer_latency_ns":`...)
			b = strconv.AppendInt(b, t.Latency.Nanoseconds(), 10)
			if t.Failed {
				b = append(b, `,"state":"failed","code":`...)
				b = strconv.AppendInt(b, int64(t.Code), 10)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if pc.Credential != nil {
		b = append(b, `,"authenticated_entity":{"id":`...)
		b = jsontext.AppendString(b, pc.Credential.Meta().ID)
		b = append(b, '}')
	}
	if pc.Route != nil {
		b = append(b, `,"route":`...)
		b = append(b, enc.entity(pc.Route, pc.Route)...)
	}
	if pc.Service != nil {
		b = append(b, `,"service":`...)
		b = append(b, enc.entity(pc.Service, pc.Service)...)
	}
	if pc.Consumer != nil {
		b = append(b, `,"consumer":`...)
		b = append(b, enc.entity(pc.Consumer, pc.Consumer)...)
	}
	b = append(b, `,"client_ip":`...)
	b = jsontext.AppendString(b, pc.ClientIP)
	b = append(b, `,"started_at":`...)
	b = strconv.AppendInt(b, pc.Start.UnixMilli(), 10)
	b = append(b, `,"source":`...)
	if e.Proxied {
		b = append(b, `"upstream"`...)
	} else {
		b = append(b, `"kong"`...)
	}
	b = append(b, `,"workspace_name":"default"`...)
	if ids, _ := pc.Var(plugin.VarTraceID).(map[string]string); len(ids) > 0 {
		b = append(b, `,"trace_id":{`...)
		first := true
		for f, id := range ids {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = jsontext.AppendString(b, f)
			b = append(b, ':')
			b = jsontext.AppendString(b, id)
		}
		b = append(b, '}')
	}
	if id, _ := pc.Var(plugin.VarCorrelationID).(string); id != "" {
		b = append(b, `,"correlation_id":`...)
		b = jsontext.AppendString(b, id)
	}
	return append(b, '}')
}

// appendHeaders writes h as Kong's headers table; for a request, host is
// added and the authorization headers are redacted.
func appendHeaders(b []byte, h http.Header, host string, request bool) []byte {
	b = append(b, '{')
	first := true
	if host != "" {
		b = append(b, `"host":`...)
		b = jsontext.AppendString(b, host)
		first = false
	}
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendLowerName(b, k)
		b = append(b, ':')
		if request && (strings.EqualFold(k, "authorization") || strings.EqualFold(k, "proxy-authorization")) {
			b = append(b, `"`+Redacted+`"`...)
			continue
		}
		if len(vs) == 1 {
			b = jsontext.AppendString(b, vs[0])
			continue
		}
		b = append(b, '[')
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(b, v)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendFields is appendHeaders of h's fields, grouped by name (any
// case) in their first order: the values of a name are listed in the
// fields' order, as the map's made of them are. A request's Host field
// is host's.
func appendFields(b []byte, h exchange.Header, host string, request bool) []byte {
	b = append(b, '{')
	first := true
	if host != "" {
		b = append(b, `"host":`...)
		b = jsontext.AppendString(b, host)
		first = false
	}
	n := h.Len()
	for i := range n {
		name, value := h.At(i)
		if request && bytes.EqualFold(name, []byte("Host")) || seenBefore(h, i, name) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendLowerName(b, string(name))
		b = append(b, ':')
		if request && (bytes.EqualFold(name, []byte("authorization")) || bytes.EqualFold(name, []byte("proxy-authorization"))) {
			b = append(b, `"`+Redacted+`"`...)
			continue
		}
		count := 1
		for j := i + 1; j < n; j++ {
			if other, _ := h.At(j); bytes.EqualFold(other, name) {
				count++
			}
		}
		if count == 1 {
			b = jsontext.AppendString(b, string(value))
			continue
		}
		b = append(b, '[')
		b = jsontext.AppendString(b, string(value))
		for j := i + 1; j < n; j++ {
			if other, v := h.At(j); bytes.EqualFold(other, name) {
				b = append(b, ',')
				b = jsontext.AppendString(b, string(v))
			}
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// seenBefore reports whether a field before the i-th of h has name (any
// case).
func seenBefore(h exchange.Header, i int, name []byte) bool {
	for j := range i {
		if other, _ := h.At(j); bytes.EqualFold(other, name) {
			return true
		}
	}
	return false
}

// appendLowerName writes a header name in lower case, as Kong's headers
// table has it, without allocating for a name of plain token characters.
func appendLowerName(b []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return jsontext.AppendString(b, strings.ToLower(k))
		}
	}
	b = append(b, '"')
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return append(b, '"')
}

// appendQuery writes Query(raw) with keys in their first order, the
// repeated ones as arrays, without building the map; like Query, it
// reads at most uriargs.MaxArgs arguments, which also bounds the
// pairwise grouping below.
func appendQuery(b []byte, raw string) []byte {
	var buf [16]uriargs.Arg
	pairs := uriargs.AppendParse(buf[:0], raw)
	pairs = pairs[:min(len(pairs), uriargs.MaxArgs)]
	b = append(b, '{')
	first := true
	for i, p := range pairs {
		seen, n := p.Name == "", 0
		for _, q := range pairs[:i] {
			seen = seen || q.Name == p.Name
		}
		if seen {
			continue
		}
		for _, q := range pairs[i:] {
			if q.Name == p.Name {
				n++
			}
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsontext.AppendString(b, p.Name)
		b = append(b, ':')
		if n > 1 {
			b = append(b, '[')
		}
		sep := false
		for _, q := range pairs[i:] {
			if q.Name != p.Name {
				continue
			}
			if sep {
				b = append(b, ',')
			}
			sep = true
			if q.Flag {
				b = append(b, "true"...)
			} else {
				b = jsontext.AppendString(b, q.Value)
			}
		}
		if n > 1 {
			b = append(b, ']')
		}
	}
	return append(b, '}')
}
