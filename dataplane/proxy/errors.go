package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/upstream"
)

// Kong's messages for the answers the proxy gives itself.
const (
	msgNoRoute    = "no Route matched with those values"
	msgNoService  = "no Service found with those values"
	msgBadGateway = "An invalid response was received from the upstream server"
	msgNoPeer     = "failure to get a peer from the ring-balancer"
	msgResolve    = "name resolution failed"
	msgTimeout    = "The upstream server is timing out"
	msgUseHTTPS   = "Please use HTTPS protocol"
)

// msgBodyTooLarge is request-size-limiting's answer when a streamed body
// crosses the limit after proxying started.
const msgBodyTooLarge = "Request size limit exceeded"

// statusClientClosed is nginx's 499, logged when the client went away.
const statusClientClosed = 499

// classify maps a proxying error to Kong's answer: kong.response.error for
// what Kong refuses before proxying (no peer, a name that does not
// resolve: kong/runloop/handler.lua's balancer_execute; a body over
// request-size-limiting's limit), nginx's error page
// (kong/error_handlers.lua) for an upstream that failed or timed out;
// proxied says which. A nil answer is a client that went away (499).
func classify(err error) (resp *plugin.Response, proxied bool) {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, plugin.ErrBodyTooLarge):
		return plugin.Error(http.StatusRequestEntityTooLarge, msgBodyTooLarge), false
	case errors.Is(err, upstream.ErrNoHealthyTarget):
		return plugin.Error(http.StatusServiceUnavailable, msgNoPeer), false
	case errors.Is(err, upstream.ErrResolve), errors.As(err, &dnsErr):
		return plugin.Error(http.StatusServiceUnavailable, msgResolve), false
	case errors.Is(err, context.Canceled):
		return nil, true
	case isTimeout(err):
		return plugin.ErrorPage(http.StatusGatewayTimeout, msgTimeout), true
	}
	return plugin.ErrorPage(http.StatusBadGateway, msgBadGateway), true
}

// isTimeout reports whether err is a timeout, for passive health checks.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

// proxyError is ReverseProxy's ErrorHandler: upstreamError.
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	s.upstreamError(w, r, exchangeFrom(r.Context()), err)
}

// upstreamError answers a request whose upstream request failed with
// err, as Kong does (classify); a client that went away is logged 499.
func (s *Server) upstreamError(w http.ResponseWriter, r *http.Request, ex *exchange, err error) {
	if berr := ex.body.failure(); berr != nil {
		// The upstream request failed because the client's body did.
		s.refuseBody(w, r, ex, berr)
		return
	}
	ex.err = err
	resp, proxied := classify(err)
	ex.refused = !proxied
	if resp == nil {
		ex.status = statusClientClosed
		return
	}
	s.exit(w, r, ex, resp)
}

// exit writes a response the data plane gives itself (an error or a
// plugin's answer): rendered for the request, through the plugins' header
// and body filters, then with the headers Kong's runloop sets after them
// (kong/runloop/handler.lua, header_filter.after).
func (s *Server) exit(w http.ResponseWriter, r *http.Request, ex *exchange, resp *plugin.Response) {
	resp.Render(r, ex.requestID())
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	body := resp.Body
	if pc := ex.pc; pc != nil {
		set := ex.c.plugins
		set.Header(pc, resp.Status, h)
		if len(body) > 0 && set.NeedsBody(pc, resp.Status, h) {
			body = set.Body(pc, h, body)
			h["Content-Length"] = []string{strconv.Itoa(len(body))}
		}
	}
	s.runloopHeaders(h, ex)
	ex.status = resp.Status
	w.WriteHeader(resp.Status)
	_, _ = w.Write(body)
}

// runloopHeaders sets what Kong sets on every response after the
// plugins: on a response the data plane answered, Server and
// X-Kong-Response-Latency; on one of a request that was proxied (an
// upstream that failed), the upstream and proxy latencies and Via, and
// Server unless present; and X-Kong-Request-Id.
func (s *Server) runloopHeaders(h http.Header, ex *exchange) {
	if ex.sent.IsZero() || ex.refused {
		h["Server"] = []string{s.server}
		if s.opts.LatencyHeaders {
			h["X-Kong-Response-Latency"] = []string{ms(time.Since(ex.start))}
		}
	} else {
		if _, ok := h["Server"]; !ok {
			h["Server"] = []string{s.server}
		}
		if s.opts.LatencyHeaders {
			end := ex.received
			if end.IsZero() {
				end = time.Now()
			}
			h["X-Kong-Upstream-Latency"] = []string{ms(end.Sub(ex.sent))}
			h["X-Kong-Proxy-Latency"] = []string{ms(ex.sent.Sub(ex.start))}
		}
		appendVia(h, s.via)
	}
	if s.opts.RequestID {
		h[headerRequestID] = ex.ridValue()
	}
}

// refuseHead answers a request refused before routing (nginx's own
// errors, kong/error_handlers.lua) and closes the connection, as nginx
// does after a bad request head.
func (s *Server) refuseHead(w http.ResponseWriter, r *http.Request, rid string, status int, msg string) {
	resp := plugin.ErrorPage(status, msg)
	resp.Render(r, rid)
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	h["Connection"] = []string{"close"}
	h["Server"] = []string{s.server}
	if s.opts.RequestID {
		h[headerRequestID] = []string{rid}
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}
