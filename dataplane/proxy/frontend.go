package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/loop"
)

// Frontend serves the proxy on a listener: HTTP/1.x on dataplane/h1,
// HTTP/2 (ALPN "h2" on TLS, the preface of h2c with prior knowledge on a
// plain listener) on net/http's server, which h1 hands those connections
// to. Set the exported fields before Serve.
type Frontend struct {
	// TLSConfig, when set, makes the listener TLS (the certificates come
	// from it); its NextProtos offer "h2".
	TLSConfig *tls.Config
	// ConnState is told each client connection's state changes, as
	// net/http's Server.ConnState is.
	ConnState func(net.Conn, http.ConnState)
	// ConnTracker, when set, tells the client connections' state
	// changes instead of ConnState (h1.Server.ConnTracker), those handed
	// to HTTP/2 included: a connection is counted once, from its accept
	// to its close, whichever server serves it.
	ConnTracker func(net.Conn) func(http.ConnState)
	// ErrorLog receives the HTTP/2 server's errors; nil is the standard
	// logger, as for net/http.
	ErrorLog *log.Logger

	h1   h1.Server
	h2   *http.Server
	once sync.Once
	ho   *h1.Handoff

	// eventLoop: a plain listener's connections are served on event
	// loops (Options.EventLoop); loops holds the groups serving, and
	// stopped, closed by Shutdown or Close, ends their Serve.
	eventLoop bool
	loopMu    sync.Mutex
	loops     []loopListener
	stopped   bool
	stop      chan struct{}
}

// loopListener is a listener event loops serve.
type loopListener struct {
	g  *loop.Group
	ln net.Listener
}

// Frontend returns the server of a proxy listener, with the Limits
// applied: h (the proxy itself when nil) serves every request, and
// connections are numbered (nginx's $connection and $connection_requests,
// which correlation-id's tracker reads). The caller sets what depends on
// the listener (TLSConfig, ConnState, ErrorLog).
//
// HTTP/1.x is read by dataplane/h1, whose parser applies the header
// bounds (request line 414, field and header block 400, nginx's answers),
// the header, body and keep-alive timeouts and the body size, and
// answers what it refuses with Kong's error page. HTTP/2 is bounded:
// H2MaxConcurrentStreams streams per connection, the header list at the
// header block (as SETTINGS_MAX_HEADER_LIST_SIZE), frames read up to 16
// KiB, a 4 KiB HPACK table; idle connections close after
// KeepaliveTimeout. The "Upgrade: h2c" dance is not offered.
func (s *Server) Frontend(h http.Handler) *Frontend {
	if h == nil {
		h = s
	}
	l := &s.limits
	f := &Frontend{}
	f.h1 = h1.Server{
		Handler: &h1Handler{px: s, next: h, native: h == http.Handler(s)},
		Limits: h1.Limits{
			HeaderBufferSize: l.HeaderBufferSize, HeaderBuffers: l.HeaderBuffers,
			HeaderTimeout: l.HeaderTimeout, BodyTimeout: l.BodyTimeout,
			KeepaliveTimeout: l.KeepaliveTimeout, MaxBodySize: l.MaxBodySize,
		},
		Refuse: s.refuseH1,
		ConnID: func() uint64 { return s.conns.Add(1) },
		Log:    s.log,
	}
	f.h2 = s.http2Server(h)
	on, err := eventLoopOn(s.opts.EventLoop)
	if err != nil {
		s.log.Warn("proxy: event loops off", "error", err)
	}
	f.eventLoop, f.stop = on, make(chan struct{})
	return f
}

// http2Server is the net/http server of the connections h1 hands over.
func (s *Server) http2Server(h http.Handler) *http.Server {
	l := &s.limits
	maxHeader := max(l.headerBlock()-netHTTPSlack, 1)
	protocols := new(http.Protocols)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:        &headerCheck{next: h, s: s},
		ConnContext:    s.connContext,
		MaxHeaderBytes: maxHeader,
		IdleTimeout:    l.KeepaliveTimeout,
		Protocols:      protocols,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams:      l.H2MaxConcurrentStreams,
			MaxReadFrameSize:          h2MaxReadFrameSize,
			MaxDecoderHeaderTableSize: h2HeaderTableSize,
			MaxEncoderHeaderTableSize: h2HeaderTableSize,
		},
	}
}

// Serve serves ln until Shutdown or Close, when it returns
// http.ErrServerClosed. A Frontend serves one listener.
//
// With event loops on (Options.EventLoop) a plain TCP listener is served
// by one loop per CPU (dataplane/loop): each connection's HTTP/1.x code
// runs as a task of a loop until a request needs goroutines (the
// adapter path, an HTTP/2 hand-off, a hijack), when it moves to Go's
// netpoller (h1.Request.Detach).
func (f *Frontend) Serve(ln net.Listener) error {
	f.setup(ln.Addr())
	if tl, ok := ln.(*net.TCPListener); ok && f.eventLoop && f.TLSConfig == nil {
		return f.serveLoops(tl)
	}
	err := f.h1.Serve(ln)
	if errors.Is(err, h1.ErrServerClosed) {
		return http.ErrServerClosed
	}
	return err
}

// setup completes both servers from the exported fields, once: the
// HTTP/2 server serves what h1 hands over (addr is the listener's).
func (f *Frontend) setup(addr net.Addr) {
	f.once.Do(func() {
		if a, ok := addr.(*net.TCPAddr); ok {
			if h, ok := f.h1.Handler.(*h1Handler); ok {
				h.port = listenerPort{num: a.Port, name: strconv.Itoa(a.Port)}
			}
		}
		f.ho = h1.NewHandoff(addr)
		f.h1.TLSConfig, f.h1.ConnState, f.h1.HTTP2 = f.TLSConfig, f.ConnState, f.ho.Hand
		f.h1.ConnTracker = f.ConnTracker
		if f.TLSConfig != nil {
			// net/http adds to its config's NextProtos.
			f.h2.TLSConfig = f.TLSConfig.Clone()
		}
		// A connection h1 hands over stays counted by h1's tracker (or
		// ConnState under its accepted connection): once, not again as
		// the HTTP/2 server's new one.
		f.h2.ConnState, f.h2.ErrorLog = f.ho.ConnState(f.ConnState), f.ErrorLog
		go func() { _ = f.h2.Serve(f.ho) }()
	})
}

// serveLoops serves ln on event loops until Shutdown or Close.
func (f *Frontend) serveLoops(ln *net.TCPListener) error {
	g, err := loop.Serve(ln, 0, func(c *loop.Conn) { f.h1.ServeConn(c) }, loop.WithLog(f.h1.Log))
	if err != nil {
		return fmt.Errorf("serving %s on event loops: %w", ln.Addr(), err)
	}
	f.loopMu.Lock()
	if f.stopped {
		f.loopMu.Unlock()
		_ = g.Close()
		ln.Close()
		return http.ErrServerClosed
	}
	f.loops = append(f.loops, loopListener{g: g, ln: ln})
	f.loopMu.Unlock()
	<-f.stop
	return http.ErrServerClosed
}

// stopLoops stops the event loops accepting and closes their listeners,
// as h1's Shutdown and Close close its own; the connections are h1's to
// end.
func (f *Frontend) stopLoops() error {
	f.loopMu.Lock()
	defer f.loopMu.Unlock()
	if f.stopped {
		return nil
	}
	f.stopped = true
	close(f.stop)
	var errs []error
	for _, l := range f.loops {
		errs = append(errs, l.g.Close())
		if err := l.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Shutdown stops accepting, closes idle connections and waits for the
// requests in flight on both servers (HTTP/2 clients get GOAWAY), or for
// ctx.
func (f *Frontend) Shutdown(ctx context.Context) error {
	f.setup(nil)
	lerr := f.stopLoops()
	h2 := make(chan error, 1)
	go func() { h2 <- f.h2.Shutdown(ctx) }()
	err := f.h1.Shutdown(ctx)
	return errors.Join(lerr, err, <-h2)
}

// Close closes every connection at once.
func (f *Frontend) Close() error {
	f.setup(nil)
	lerr := f.stopLoops()
	err := f.h1.Close()
	return errors.Join(lerr, err, f.h2.Close())
}
