package proxy

import (
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/upstream"
)

// rewrite prepares the upstream request (ReverseProxy has already removed
// hop-by-hop and X-Forwarded-* headers from pr.Out).
func (s *Server) rewrite(pr *httputil.ProxyRequest) {
	// The query goes as the client (and the plugins) left it, as nginx
	// sends $args: ReverseProxy drops the pairs with ';' it cannot parse.
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery
	s.prepare(exchangeFrom(pr.In.Context()), pr.In, pr.Out)
}

// prepare points out, the upstream request, at the service and sets the
// Host and X-Forwarded-* headers.
func (s *Server) prepare(ex *exchange, in, out *http.Request) {
	svc := ex.svc
	out.URL.Scheme = svc.scheme
	out.URL.Host = svc.hostPort
	setPath(out.URL, ex.upstreamPath)
	if ex.match.Route.PreserveHost {
		out.Host = in.Host
	} else {
		out.Host = svc.hostHeader
	}
	h := out.Header
	// One backing array for the values set here.
	vals := [...]string{ex.clientIP, ex.clientIP, ex.scheme, ex.host, ex.port, in.URL.EscapedPath(), ex.match.Prefix}
	if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
		vals[0] = joinComma(prior) + ", " + ex.clientIP
	}
	h["X-Forwarded-For"] = vals[0:1:1]
	h["X-Real-Ip"] = vals[1:2:2]
	h["X-Forwarded-Proto"] = vals[2:3:3]
	h["X-Forwarded-Host"] = vals[3:4:4]
	h["X-Forwarded-Port"] = vals[4:5:5]
	h["X-Forwarded-Path"] = vals[5:6:6]
	if ex.match.Route.StripPath && ex.match.Prefix != "" && ex.match.Prefix != "/" {
		h["X-Forwarded-Prefix"] = vals[6:7:7]
	} else {
		delete(h, "X-Forwarded-Prefix")
	}
	appendVia(h, s.via)
	// nginx answers Expect itself and never forwards it
	// (ngx_http_proxy_headers sets it empty): forwardHeader drops it,
	// and this does on ReverseProxy's copy.
	if v, ok := in.Header["Expect"]; ok {
		ex.expectContinue = hasToken(joinComma(v), "100-continue")
		delete(h, "Expect")
	}
	if s.opts.RequestID {
		// Set after the plugins: a client's or a plugin's value is replaced.
		h[headerRequestID] = ex.ridValue()
	}
}

// respond is ReverseProxy's ModifyResponse: decorate.
func (s *Server) respond(res *http.Response) error {
	return s.decorate(exchangeFrom(res.Request.Context()), res)
}

// decorate decorates the upstream's response headers and runs the
// plugins' header and body filters.
func (s *Server) decorate(ex *exchange, res *http.Response) error {
	ex.received = ex.since()
	ex.status = res.StatusCode
	// On an event loop (ex.owner) the loop's task spools the body itself
	// (loopSpool): the spool's goroutine (fill) would read the upstream
	// connection, which only the loop's task may. An event stream is
	// relayed as it comes there: loopSpool may hold what arrived while
	// the client's connection is full until the upstream sends more.
	if ex.match.Route.ResponseBuffering && !ex.grpc {
		switch {
		case ex.owner == nil:
			res.Body = s.buffered(res)
		case !eventStreamResponse(res):
			res.Body = s.loopBuffered(res, ex.client)
		}
	}
	if p := ex.svc.pool; p != nil && ex.target != nil {
		p.Report(ex.target, upstream.Response, res.StatusCode)
	}
	h := res.Header
	// One backing array for the values set here.
	vals := [...]string{s.server, "", "", s.via}
	if prior := h["Via"]; len(prior) > 0 {
		vals[3] = joinComma(prior) + ", " + s.via
	}
	h["Via"] = vals[3:4:4]
	if _, ok := h["Server"]; !ok {
		h["Server"] = vals[0:1:1]
	}
	if s.opts.LatencyHeaders {
		vals[1], vals[2] = ms(ex.received.Sub(ex.sent)), ms(ex.sent.Sub(ex.start))
		h["X-Kong-Upstream-Latency"] = vals[1:2:2]
		h["X-Kong-Proxy-Latency"] = vals[2:3:3]
	}
	if ex.cookie != nil {
		h.Add("Set-Cookie", ex.cookie.String())
	}
	if ex.pc != nil {
		if err := s.filter(ex, res); err != nil {
			return err
		}
	}
	if s.opts.RequestID {
		// After the plugins' header filters, as Kong's runloop sets it.
		h[headerRequestID] = ex.ridValue()
	}
	return nil
}

// portName returns the decimal form of a listener's port, remembered.
func (s *Server) portName(port int) string {
	if v, ok := s.ports.Load(port); ok {
		return v.(string)
	}
	name := strconv.Itoa(port)
	s.ports.Store(port, name)
	return name
}

func appendVia(h http.Header, via string) {
	if prior := h["Via"]; len(prior) > 0 {
		h["Via"] = []string{joinComma(prior) + ", " + via}
		return
	}
	h["Via"] = []string{via}
}

func joinComma(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	out := vs[0]
	for _, v := range vs[1:] {
		out += ", " + v
	}
	return out
}

// msNames holds the names of the latencies most responses report, so
// that formatting them does not allocate.
var msNames = func() (names [1000]string) {
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}()

func ms(d time.Duration) string {
	n := d.Milliseconds()
	if n >= 0 && n < int64(len(msNames)) {
		return msNames[n]
	}
	return strconv.FormatInt(n, 10)
}

// clientInfo returns the client's IP, the host as nginx's $host has it
// (lowercase, without port or trailing dot) and the port the client
// connected to.
func (s *Server) clientInfo(r *http.Request) (ip, host, port string) {
	ip = r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	host, port = s.hostPort(r.Host, local, r.TLS != nil)
	return ip, host, port
}

// hostPort returns the host of a request for host (its Host field) as
// nginx's $host has it and the port the client connected to (local, the
// listener's address, else host's port, else the scheme's).
func (s *Server) hostPort(host string, local net.Addr, tls bool) (string, string) {
	port := ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		if host[0] == '[' {
			h = "[" + h + "]"
		}
		host, port = h, p
	}
	host = nginxHost(host)
	switch a := local.(type) {
	case *net.TCPAddr:
		port = s.portName(a.Port)
	case net.Addr:
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			port = p
		}
	}
	if port == "" {
		port = "80"
		if tls {
			port = "443"
		}
	}
	return host, port
}

// nginxHost lowercases a host and drops one trailing dot, as nginx
// validates the Host header into $host (which Kong forwards as
// X-Forwarded-Host); a host already in that form is returned as it is.
func nginxHost(h string) string {
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
