package logrecord

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/skyport-gw/skyport/dataplane/plugin"
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

// Append appends the JSON record of pc and e to dst.
func (enc *Encoder) Append(dst []byte, pc *plugin.Context, e *plugin.LogEntry) []byte {
	r := e.Request
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		uri = r.URL.RequestURI()
	}
	b := append(dst, `{"request":{"id":`...)
	b = jsontext.AppendString(b, e.RequestID)
	b = append(b, `,"uri":`...)
	b = jsontext.AppendString(b, uri)
	b = append(b, `,"url":`...)
	b = jsontext.AppendString(b, e.Scheme+"://"+e.Host+portSuffix(e.Port)+uri)
	b = append(b, `,"querystring":`...)
	b = appendQuery(b, r.URL.RawQuery)
	b = append(b, `,"method":`...)
	b = jsontext.AppendString(b, r.Method)
	b = append(b, `,"headers":`...)
	b = appendHeaders(b, r.Header, r.Host, true)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, RequestSize(r), 10)
	if t := tlsInfo(r.TLS); t != nil {
		b = append(b, `,"tls":{"version":`...)
		b = jsontext.AppendString(b, t.Version)
		b = append(b, `,"cipher":`...)
		b = jsontext.AppendString(b, t.Cipher)
		b = append(b, `,"client_verify":`...)
		b = jsontext.AppendString(b, t.ClientVerify)
		b = append(b, '}')
	}
	b = append(b, `},"upstream_uri":`...)
	b = jsontext.AppendString(b, e.UpstreamURI)
	b = append(b, `,"upstream_status":"`...)
	if e.Proxied {
		b = strconv.AppendInt(b, int64(e.UpstreamStatus), 10)
	}
	b = append(b, `","response":{"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"headers":`...)
	b = appendHeaders(b, e.ResponseHeader, "", false)
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
		name := strings.ToLower(k)
		b = jsontext.AppendString(b, name)
		b = append(b, ':')
		if request && (name == "authorization" || name == "proxy-authorization") {
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

// appendQuery writes Query(raw) with keys in their first order.
func appendQuery(b []byte, raw string) []byte {
	if raw == "" {
		return append(b, "{}"...)
	}
	type arg struct {
		key    string
		values []any
	}
	var args []arg
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, hasValue := strings.Cut(pair, "=")
		key := unescape(k)
		var val any = true
		if hasValue {
			val = unescape(v)
		}
		found := false
		for i := range args {
			if args[i].key == key {
				args[i].values = append(args[i].values, val)
				found = true
				break
			}
		}
		if !found {
			args = append(args, arg{key: key, values: []any{val}})
		}
	}
	b = append(b, '{')
	for i, a := range args {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, a.key)
		b = append(b, ':')
		if len(a.values) > 1 {
			b = append(b, '[')
		}
		for j, v := range a.values {
			if j > 0 {
				b = append(b, ',')
			}
			if s, ok := v.(string); ok {
				b = jsontext.AppendString(b, s)
			} else {
				b = append(b, "true"...)
			}
		}
		if len(a.values) > 1 {
			b = append(b, ']')
		}
	}
	return append(b, '}')
}

func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}
