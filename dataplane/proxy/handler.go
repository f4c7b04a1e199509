package proxy

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/dataplane/upstream"
)

// exchange is one request's state, shared by the proxy's phases through
// the request context.
type exchange struct {
	c       *compiled
	svc     *service
	match   *router.Match
	pc      *plugin.Context
	target  *upstream.Target
	cookie  *upstream.Cookie
	err     error
	retries int

	clientIP, host, port, scheme string
	upstreamPath                 string

	start, sent, received time.Time
	status                int

	// rec wraps the client's ResponseWriter (allocated with the exchange).
	rec recorder
	// direct says forward, not ReverseProxy, is proxying: informational
	// responses are written to rec by the client.
	direct bool
	// body reads the client's request body; nil when there is none.
	body *clientBody
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

func (s *Server) serve(w *recorder, r *http.Request, ex *exchange) {
	c := s.cur.Load()
	if c == nil {
		ex.status = http.StatusNotFound
		s.writeMessage(w, http.StatusNotFound, msgNoRoute)
		return
	}
	ex.c = c
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	ex.clientIP, ex.host, ex.port = s.clientInfo(r)
	if s.tooLarge(r) {
		ex.status = http.StatusRequestEntityTooLarge
		s.refuseHead(w, http.StatusRequestEntityTooLarge, msgPayloadTooBig)
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
	port, _ := strconv.Atoi(ex.port)
	m := c.router.Match(&router.Input{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(),
		Header: r.Header, TLS: r.TLS != nil, SNI: sni, Port: port})
	ws := isWebSocket(r)
	if m == nil || !s.protocolAllowed(w, r, ex, m, ws) {
		if ex.status == 0 {
			ex.status = http.StatusNotFound
			s.writeMessage(w, http.StatusNotFound, msgNoRoute)
		}
		return
	}
	ex.match = m
	if m.Service != nil {
		ex.svc = c.services[m.Service.ID]
	}
	stripHop(r.Header, ws && allowsWebSocket(m.Route, ex.scheme))
	if !c.plugins.Empty() {
		ex.pc = plugin.NewContext(m.Route, m.Service, m.Captures, ex.clientIP)
		if resp := c.plugins.Access(ex.pc, r); resp != nil {
			s.exit(w, ex, resp)
			return
		}
	}
	if ex.svc == nil {
		s.exit(w, ex, plugin.JSONMessage(http.StatusServiceUnavailable, msgUnavailable))
		return
	}
	ex.upstreamPath = upstreamPath(ex.svc.base, m.Path, m.Prefix, m.Route.StripPath)
	if ex.pc != nil && ex.pc.UpstreamPath != "" {
		ex.upstreamPath = ex.pc.UpstreamPath
	}
	if ex.body != nil && m.Route.RequestBuffering {
		release, err := s.bufferBody(r)
		if err != nil {
			s.refuseBody(w, ex, err)
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

// protocolAllowed enforces the route's protocols: a plain-HTTP request on
// an https-only route is answered with https_redirect_status_code; a
// WebSocket request (ws) may use a ws or wss route.
func (s *Server) protocolAllowed(w http.ResponseWriter, r *http.Request, ex *exchange, m *router.Match, ws bool) bool {
	ps := m.Route.Protocols
	if len(ps) == 0 || slices.Contains(ps, ex.scheme) || (ws && allowsWebSocket(m.Route, ex.scheme)) {
		return true
	}
	if ex.scheme != "http" || !slices.Contains(ps, "https") {
		return false
	}
	code := m.Route.HTTPSRedirectStatusCode
	if code == 0 {
		code = http.StatusUpgradeRequired
	}
	resp := plugin.JSONMessage(code, msgUseHTTPS)
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		resp.Header.Set("Location", "https://"+ex.host+r.URL.RequestURI())
	case http.StatusUpgradeRequired:
		resp.Header.Set("Connection", "Upgrade")
		resp.Header.Set("Upgrade", "TLS/1.2, HTTP/1.1")
	}
	ex.match = m
	s.exit(w, ex, resp)
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
