package proxy

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	view "github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/dataplane/upstream"
	"github.com/skyport-gw/skyport/internal/model"
)

// exchange is one request's state, shared by the proxy's phases through
// the request context.
type exchange struct {
	// owner is the event loop serving the client's connection (the
	// native path's, until it detaches), nil on Go's netpoller: the
	// upstream connection is dialed on it and pooled with its own.
	owner connOwner
	// client is the client's connection on owner: how much it would
	// take now without waiting (loopSpool).
	client writeRoomer
	c      *compiled
	svc    *service
	match  *router.Match
	// matched holds the router's answer (match points to it).
	matched router.Match
	pc      *plugin.Context
	target  *upstream.Target
	cookie  *upstream.Cookie
	err     error
	retries int
	// grpc: a gRPC request on a grpc or grpcs route, proxied without
	// buffering either body.
	grpc bool
	// expectContinue: the client's request asked for "100 Continue",
	// which the upstream request does not carry (prepare).
	expectContinue bool
	// refused: the proxy answered an error of its own after the upstream
	// request started (a name that did not resolve, no target), which
	// Kong answers before proxying.
	refused bool

	clientIP, host, port, scheme string
	upstreamPath                 string
	// rid is the request id (X-Kong-Request-Id), made on first use;
	// rids holds it as a header value, shared by the upstream request and
	// the response.
	// ridRaw holds its bytes, made first (ridBytes), which the native
	// path writes without making the string.
	rid    string
	rids   []string
	ridBuf [1]string
	ridRaw [32]byte

	start, sent, received time.Time
	// tryAtStart says the first upstream attempt starts at start, read
	// once: nothing but the proxy's own routing, which takes
	// microseconds, runs between them (the native path without plugins
	// to a service without an upstream).
	tryAtStart bool
	status     int
	// tries are the upstream attempts, for the loggers.
	tries    []plugin.Try
	triesBuf [1]plugin.Try

	// rec wraps the client's ResponseWriter (allocated with the exchange).
	rec recorder
	// direct says forward, not ReverseProxy, is proxying: informational
	// responses are written to rec by the client.
	direct bool
	// body reads the client's request body; nil when there is none.
	body *clientBody
	// net is the upstream request's attempt (RoundTrip).
	net netAttempt
	// guard, on the native path, closes the upstream connection when
	// the client goes away (h1Client.exchange); nil when the request's
	// context does.
	guard connGuard
	// view, on the native path without plugins, takes the upstream's
	// response as a view when it can (upView): send then returns no
	// *http.Response.
	view *upView
	// memo, on the native path, is the pooled exchange's memory of the
	// last route it served (its service and Series); nil elsewhere.
	memo *routeMemo
}

type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// ServeHTTP proxies one request with the configuration running when it
// arrived.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := &exchange{start: time.Now()}
	ex.rec.ResponseWriter = w
	rec := &ex.rec
	// Deferred: a response aborted while streaming (http.ErrAbortHandler)
	// is still released and logged.
	defer func() {
		if ex.target != nil {
			ex.target.Done(ex.received.Sub(ex.sent))
		}
		s.finish(rec, r, ex)
	}()
	s.serve(rec, r, ex)
}

// since returns the time now for a time the exchange only measures
// from its start (the response's arrival, an attempt's send): start plus
// the monotonic clock's time since it. time.Now reads the wall clock and
// then the monotonic one, two clock reads (170–245 ns together on a kvm
// clock); here the read made at the start serves the wall clock's part,
// and the durations taken between these times (the latency fields,
// metrics and log) are those of the monotonic clock, as with time.Now.
// Its wall time is start's moved by the same duration, which differs
// from the wall clock's only when the wall clock was set in between.
func (ex *exchange) since() time.Time {
	if ex.start.IsZero() {
		return time.Now()
	}
	return ex.start.Add(time.Since(ex.start))
}

// requestID returns the request's id, made on first use.
func (ex *exchange) requestID() string {
	if ex.rid == "" {
		ex.rid = string(ex.ridBytes())
	}
	return ex.rid
}

// ridBytes returns the request id's bytes, made on first use; they are
// requestID's.
func (ex *exchange) ridBytes() []byte {
	if ex.ridRaw[0] == 0 {
		makeRequestID(&ex.ridRaw)
	}
	return ex.ridRaw[:]
}

// RequestID is requestID for the plugins (plugin.Context.RequestID).
func (ex *exchange) RequestID() string { return ex.requestID() }

// ridValue returns the request id as a header value.
func (ex *exchange) ridValue() []string {
	if ex.rids == nil {
		ex.ridBuf[0] = ex.requestID()
		ex.rids = ex.ridBuf[:1:1]
	}
	return ex.rids
}

func (s *Server) serve(w *recorder, r *http.Request, ex *exchange) {
	c := s.cur.Load()
	if c == nil {
		s.exit(w, r, ex, plugin.Error(http.StatusNotFound, msgNoRoute))
		return
	}
	ex.c = c
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	ex.clientIP, ex.host, ex.port = s.clientInfo(r)
	if s.tooLarge(r) {
		ex.status = http.StatusRequestEntityTooLarge
		s.refuseHead(w, r, ex.requestID(), http.StatusRequestEntityTooLarge, msgPayloadTooBig)
		return
	}
	if ex.body = s.wrapBody(w, r); ex.body != nil {
		defer ex.body.end()
	}
	ex.scheme = "http"
	sni := ""
	if r.TLS != nil {
		ex.scheme, sni = "https", r.TLS.ServerName
	}
	m := s.route(c, r, ex, sni)
	ws := isWebSocket(r)
	if m == nil {
		s.globals(r, ex, nil)
		s.exit(w, r, ex, plugin.Error(http.StatusNotFound, msgNoRoute))
		return
	}
	if !s.protocolAllowed(w, r, ex, m, ws) {
		return
	}
	ex.match = m
	if m.Service != nil {
		ex.svc = c.services[m.Service.ID]
	}
	stripHop(r.Header, ws && allowsWebSocket(m.Route, ex.scheme))
	if !c.plugins.Empty() {
		ex.pc = s.pluginContext(r, ex, m)
		if resp := c.plugins.Access(ex.pc, r); resp != nil {
			s.exit(w, r, ex, resp)
			return
		}
	}
	if ex.svc == nil {
		s.exit(w, r, ex, plugin.Error(http.StatusServiceUnavailable, msgNoService))
		return
	}
	ex.upstreamPath = upstreamPath(ex.svc.base, m.Path, m.Prefix, m.Route.StripPath)
	if ex.pc != nil && ex.pc.UpstreamPath != "" {
		ex.upstreamPath = ex.pc.UpstreamPath
	}
	if ex.body != nil && m.Route.RequestBuffering && !ex.grpc {
		release, err := s.bufferBody(r)
		if err != nil {
			s.refuseBody(w, r, ex, err)
			return
		}
		defer release()
	}
	if direct(r, ex.svc) {
		s.forward(w, r, ex)
		return
	}
	s.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex)))
}

// route matches r against c's routes: on the view of h1's request when
// r came from h1 (its fields are read in place), else on r. The match
// lives in ex.
func (s *Server) route(c *compiled, r *http.Request, ex *exchange, sni string) *router.Match {
	port, _ := strconv.Atoi(ex.port)
	var ok bool
	if hr, isH1 := r.Context().Value(h1RequestKey{}).(*h1.Request); isH1 && hr != nil {
		ok = c.router.MatchRequest(view.H1Request{R: hr}, port, &ex.matched)
	} else {
		ok = c.router.MatchInto(&router.Input{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(),
			Header: r.Header, TLS: r.TLS != nil, SNI: sni, Port: port}, &ex.matched)
	}
	if !ok {
		return nil
	}
	return &ex.matched
}

// pluginContext returns the plugins' context for a request m matched.
func (s *Server) pluginContext(r *http.Request, ex *exchange, m *router.Match) *plugin.Context {
	var route *model.Route
	var svc *model.Service
	var captures map[string]string
	if m != nil {
		route, svc, captures = m.Route, m.Service, m.Captures
	}
	pc := plugin.NewContext(route, svc, captures, ex.clientIP)
	pc.Start = ex.start
	pc.SetRequestIDSource(ex)
	pc.Connection, pc.ConnectionRequests = countRequest(r)
	return pc
}

// globals readies the global plugins' header filters and loggers for a
// request answered before the plugins ran (m is the route matched, if
// any).
func (s *Server) globals(r *http.Request, ex *exchange, m *router.Match) {
	if ex.c.plugins.Empty() {
		return
	}
	ex.pc = s.pluginContext(r, ex, m)
	ex.c.plugins.Globals(ex.pc, r)
}

// protocolAllowed enforces the route's protocols: a plain-HTTP request on
// an https-only route is answered with https_redirect_status_code (426
// by kong.response.error, a redirect with an empty body); a WebSocket
// request (ws) may use a ws or wss route; grpc routes take plain
// requests and grpcs routes TLS ones, gRPC only (grpcAllowed). A request
// refused otherwise is answered 404.
func (s *Server) protocolAllowed(w http.ResponseWriter, r *http.Request, ex *exchange, m *router.Match, ws bool) bool {
	ps := m.Route.Protocols
	if len(ps) == 0 || slices.Contains(ps, ex.scheme) || (ws && allowsWebSocket(m.Route, ex.scheme)) {
		return true
	}
	if allowsGRPC(ps, ex.scheme) {
		return s.grpcAllowed(w, r, ex, m)
	}
	if ex.scheme != "http" || !slices.Contains(ps, "https") {
		s.globals(r, ex, nil)
		s.exit(w, r, ex, plugin.Error(http.StatusNotFound, msgNoRoute))
		return false
	}
	ex.match = m
	s.globals(r, ex, m)
	var resp *plugin.Response
	switch code := m.Route.HTTPSRedirectStatusCode; code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		resp = plugin.Empty(code)
		uri := r.RequestURI
		if uri == "" || uri[0] != '/' {
			uri = r.URL.RequestURI()
		}
		resp.Header["Location"] = []string{"https://" + ex.host + uri}
	default:
		resp = plugin.Error(http.StatusUpgradeRequired, msgUseHTTPS)
		resp.Header["Connection"] = []string{"Upgrade"}
		resp.Header["Upgrade"] = []string{"TLS/1.2, HTTP/1.1"}
	}
	s.exit(w, r, ex, resp)
	return false
}

// hashInput is what consistent hashing sees of the request.
func (ex *exchange) hashInput(r *http.Request) *upstream.HashInput {
	in := &upstream.HashInput{ClientIP: ex.clientIP, Header: r.Header, Path: ex.match.Path,
		Query: r.URL.RawQuery, Captures: ex.match.Captures}
	if ex.pc != nil {
		if ex.pc.Consumer != nil {
			in.Consumer = ex.pc.Consumer.ID
		}
		if ex.pc.Credential != nil {
			in.Credential = ex.pc.Credential.Meta().ID
		}
	}
	return in
}
