package zipkin

import (
	"encoding/hex"
	"encoding/json"
	"net"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/tracecontext"
)

// span is one Zipkin v2 span.
type span struct {
	traceID      []byte
	id, parent   tracecontext.SpanID
	name, kind   string
	start, end   time.Time
	localService string
	// serviceName, ip and port make the remote endpoint.
	serviceName string
	ip          string
	port        int
	tags        [][2]string
	annotations []annotation
}

type annotation struct {
	value string
	at    time.Time
}

func (s *span) tag(k, v string) {
	if v != "" {
		s.tags = append(s.tags, [2]string{k, v})
	}
}

func (s *span) annotate(v string, at time.Time) {
	s.annotations = append(s.annotations, annotation{v, at})
}

// spans are the request's spans, as Kong's handler reports them.
func (h *Zipkin) spans(pc *plugin.Context, e *plugin.LogEntry, t *trace) []*span {
	end := pc.Start.Add(e.Total)
	r := e.Request
	req := &span{traceID: t.traceID, id: t.requestSpan, parent: t.parent, name: t.name, kind: "SERVER",
		start: pc.Start, end: end, localService: h.conf.LocalServiceName}
	if h.conf.DefaultServiceName != nil {
		req.serviceName = *h.conf.DefaultServiceName
	}
	req.ip = pc.ClientIP
	if _, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		req.port = atoi(port)
	}
	req.tag("lc", "kong")
	req.tag("http.method", r.Method)
	req.tag("http.host", e.Host)
	req.tag("http.path", r.URL.Path)
	req.tag("http.protocol", "HTTP/"+itoa(r.ProtoMajor)+"."+itoa(r.ProtoMinor))
	for _, st := range h.conf.StaticTags {
		req.tag(st.Name, st.Value)
	}
	for _, tg := range parseTags(r.Header.Values(h.conf.TagsHeader)) {
		req.tag(tg[0], tg[1])
	}
	req.tag("http.status_code", itoa(e.Status))
	if pc.Consumer != nil {
		req.tag("kong.consumer", pc.Consumer.ID)
	}
	if h.conf.IncludeCredential && pc.Credential != nil {
		req.tag("kong.credential", pc.Credential.Meta().ID)
	}
	req.tag("kong.node.id", h.nodeID)

	accessStart := t.accessStart
	if accessStart.Before(pc.Start) || accessStart.After(end) {
		accessStart = pc.Start
	}
	proxy := &span{traceID: t.traceID, id: t.proxySpan, parent: t.requestSpan, name: t.name + " (proxy)",
		kind: "CLIENT", start: accessStart, end: end, localService: h.conf.LocalServiceName}
	accessEnd := pc.Start.Add(e.Proxy)
	headerStart := accessEnd.Add(e.Upstream)
	switch h.conf.PhaseDuration {
	case "tags":
		proxy.tag("kong.access.duration_ms", itoa(int(accessEnd.Sub(accessStart).Milliseconds())))
		proxy.tag("kong.header_filter.duration_ms", "0")
		proxy.tag("kong.body_filter.duration_ms", itoa(int(e.Receive.Milliseconds())))
	default:
		req.annotate("krs", pc.Start)
		proxy.annotate("kas", accessStart)
		proxy.annotate("kaf", accessEnd)
		proxy.annotate("khs", headerStart)
		proxy.annotate("khf", headerStart)
		proxy.annotate("kbs", headerStart)
		proxy.annotate("kbf", end)
	}
	var out []*span
	for i, try := range e.Tries {
		b := &span{traceID: t.traceID, id: tracecontext.NewSpanID(), parent: t.requestSpan,
			name: t.name + " (balancer try " + itoa(i+1) + ")", kind: "CLIENT", start: try.Start,
			end: try.Start.Add(try.Latency), localService: h.conf.LocalServiceName, ip: try.IP, port: try.Port}
		b.tag("kong.balancer.try", itoa(i+1))
		if i < len(e.Tries)-1 {
			b.tag("error", "true")
			b.tag("kong.balancer.state", "failed")
			b.tag("http.status_code", itoa(try.Code))
		}
		h.serviceTags(pc, b)
		out = append(out, b)
		proxy.ip, proxy.port = try.IP, try.Port
	}
	if pc.Service != nil {
		proxy.tag("peer.hostname", pc.Service.Host)
	}
	h.serviceTags(pc, proxy)
	return append(out, proxy, req)
}

// serviceTags is Kong's tag_with_service_and_route.
func (h *Zipkin) serviceTags(pc *plugin.Context, s *span) {
	if h.conf.DefaultServiceName != nil {
		s.serviceName = *h.conf.DefaultServiceName
	}
	if svc := pc.Service; svc != nil && svc.ID != "" {
		s.tag("kong.service", svc.ID)
		if svc.Name != nil && *svc.Name != "" {
			s.serviceName = *svc.Name
			s.tag("kong.service_name", *svc.Name)
		}
	}
	if rt := pc.Route; rt != nil {
		s.tag("kong.route", rt.ID)
		if rt.Name != nil {
			s.tag("kong.route_name", *rt.Name)
		}
	}
}

// zipkinSpan is the v2 JSON form (zipkin2-api.yaml's Span).
type zipkinSpan struct {
	TraceID        string            `json:"traceId"`
	Name           string            `json:"name"`
	ParentID       string            `json:"parentId,omitempty"`
	ID             string            `json:"id"`
	Kind           string            `json:"kind"`
	Timestamp      int64             `json:"timestamp"`
	Duration       int64             `json:"duration"`
	LocalEndpoint  endpoint          `json:"localEndpoint"`
	RemoteEndpoint *endpoint         `json:"remoteEndpoint"`
	Tags           map[string]string `json:"tags,omitempty"`
	Annotations    []zipkinNote      `json:"annotations,omitempty"`
}

type endpoint struct {
	ServiceName string `json:"serviceName,omitempty"`
	IPv4        string `json:"ipv4,omitempty"`
	IPv6        string `json:"ipv6,omitempty"`
	Port        int    `json:"port,omitempty"`
}

type zipkinNote struct {
	Value     string `json:"value"`
	Timestamp int64  `json:"timestamp"`
}

// encode returns the span's JSON.
func (s *span) encode() []byte {
	z := zipkinSpan{TraceID: hex.EncodeToString(s.traceID), Name: s.name, ID: s.id.String(), Kind: s.kind,
		Timestamp: s.start.UnixMicro(), Duration: max(s.end.Sub(s.start).Microseconds(), 0),
		LocalEndpoint: endpoint{ServiceName: s.localService}}
	if !s.parent.IsZero() {
		z.ParentID = s.parent.String()
	}
	if s.port != 0 || s.serviceName != "" {
		ep := &endpoint{ServiceName: s.serviceName, Port: s.port}
		if strings.Contains(s.ip, ":") {
			ep.IPv6 = s.ip
		} else {
			ep.IPv4 = s.ip
		}
		z.RemoteEndpoint = ep
	}
	if len(s.tags) > 0 {
		z.Tags = make(map[string]string, len(s.tags))
		for _, t := range s.tags {
			z.Tags[t[0]] = t[1]
		}
	}
	for _, a := range s.annotations {
		z.Annotations = append(z.Annotations, zipkinNote{Value: a.value, Timestamp: a.at.UnixMicro()})
	}
	b, err := json.Marshal(z)
	if err != nil {
		return []byte("{}")
	}
	return b
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
