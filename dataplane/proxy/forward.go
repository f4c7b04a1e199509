package proxy

import (
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"time"

	"github.com/skyport-gw/skyport/dataplane/upstream"
)

// rewrite prepares the upstream request (ReverseProxy has already removed
// hop-by-hop and X-Forwarded-* headers from pr.Out).
func (s *Server) rewrite(pr *httputil.ProxyRequest) {
	ex := exchangeFrom(pr.In.Context())
	svc, out, in := ex.svc, pr.Out, pr.In
	out.URL.Scheme = svc.scheme
	out.URL.Host = svc.hostPort
	setPath(out.URL, ex.upstreamPath)
	if ex.match.Route.PreserveHost {
		out.Host = in.Host
	} else {
		out.Host = svc.hostHeader
	}
	h := out.Header
	if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
		h["X-Forwarded-For"] = []string{joinComma(prior) + ", " + ex.clientIP}
	} else {
		h["X-Forwarded-For"] = []string{ex.clientIP}
	}
	h["X-Real-Ip"] = []string{ex.clientIP}
	h["X-Forwarded-Proto"] = []string{ex.scheme}
	h["X-Forwarded-Host"] = []string{ex.host}
	h["X-Forwarded-Port"] = []string{ex.port}
	h["X-Forwarded-Path"] = []string{in.URL.EscapedPath()}
	if ex.match.Route.StripPath && ex.match.Prefix != "" && ex.match.Prefix != "/" {
		h["X-Forwarded-Prefix"] = []string{ex.match.Prefix}
	} else {
		delete(h, "X-Forwarded-Prefix")
	}
	appendVia(h, s.via)
}

// respond decorates the upstream's response headers and runs the plugins'
// header and body filters.
func (s *Server) respond(res *http.Response) error {
	ex := exchangeFrom(res.Request.Context())
	ex.received = time.Now()
	ex.status = res.StatusCode
	if p := ex.svc.pool; p != nil && ex.target != nil {
		p.Report(ex.target, upstream.Response, res.StatusCode)
	}
	h := res.Header
	appendVia(h, s.via)
	if _, ok := h["Server"]; !ok {
		h["Server"] = []string{s.server}
	}
	if s.opts.LatencyHeaders {
		h["X-Kong-Upstream-Latency"] = []string{ms(ex.received.Sub(ex.sent))}
		h["X-Kong-Proxy-Latency"] = []string{ms(ex.sent.Sub(ex.start))}
	}
	if ex.cookie != nil {
		h.Add("Set-Cookie", ex.cookie.String())
	}
	if ex.pc != nil {
		return s.filter(ex, res)
	}
	return nil
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

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// clientInfo returns the client's IP, the host without port and the port
// the client connected to.
func clientInfo(r *http.Request) (ip, host, port string) {
	ip = r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	host = r.Host
	if h, p, err := net.SplitHostPort(host); err == nil {
		host, port = h, p
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			port = p
		}
	}
	if port == "" {
		port = "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	return ip, host, port
}
