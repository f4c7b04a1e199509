package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/upstream"
)

// Kong's messages for the answers the proxy gives itself.
const (
	msgNoRoute     = "no Route matched with those values"
	msgBadGateway  = "An invalid response was received from the upstream server"
	msgNoPeer      = "failure to get a peer from the ring-balancer"
	msgUnavailable = "Service unavailable"
	msgResolve     = "name resolution failed"
	msgTimeout     = "The upstream server is timing out"
	msgUseHTTPS    = "Please use HTTPS protocol"
)

// msgBodyTooLarge is request-size-limiting's answer when a streamed body
// crosses the limit after proxying started.
const msgBodyTooLarge = "Request size limit exceeded"

// statusClientClosed is nginx's 499, logged when the client went away.
const statusClientClosed = 499

// classify maps a proxying error to Kong's status and message.
func classify(err error) (int, string) {
	var dnsErr *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, plugin.ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge, msgBodyTooLarge
	case errors.Is(err, upstream.ErrNoHealthyTarget):
		return http.StatusServiceUnavailable, msgNoPeer
	case errors.Is(err, upstream.ErrResolve), errors.As(err, &dnsErr):
		return http.StatusServiceUnavailable, msgResolve
	case errors.Is(err, context.Canceled):
		return statusClientClosed, ""
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout, msgTimeout
	}
	return http.StatusBadGateway, msgBadGateway
}

// isTimeout reports whether err is a timeout, for passive health checks.
func isTimeout(err error) bool {
	st, _ := classify(err)
	return st == http.StatusGatewayTimeout
}

// proxyError is ReverseProxy's ErrorHandler.
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	ex := exchangeFrom(r.Context())
	if berr := ex.body.failure(); berr != nil {
		// The upstream request failed because the client's body did.
		s.refuseBody(w, ex, berr)
		return
	}
	ex.err = err
	status, msg := classify(err)
	if status == statusClientClosed {
		ex.status = status
		return
	}
	s.exit(w, ex, plugin.JSONMessage(status, msg))
}

// exit writes a response the data plane gives itself (an error or a
// plugin's answer), after the plugins' header filters.
func (s *Server) exit(w http.ResponseWriter, ex *exchange, resp *plugin.Response) {
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	h["Server"] = []string{s.server}
	if s.opts.LatencyHeaders {
		h["X-Kong-Response-Latency"] = []string{ms(time.Since(ex.start))}
	}
	if ex.pc != nil {
		ex.c.plugins.Header(ex.pc, resp.Status, h)
	}
	ex.status = resp.Status
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// writeMessage answers with Kong's {"message": …} body outside any route.
func (s *Server) writeMessage(w http.ResponseWriter, status int, msg string) {
	resp := plugin.JSONMessage(status, msg)
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	h["Server"] = []string{s.server}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}
