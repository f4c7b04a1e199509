package h1

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Handler serves one request. It must not keep r, w or any slice they
// return after it returns.
type Handler interface {
	ServeH1(w *Response, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *Response, r *Request)

// ServeH1 calls f.
func (f HandlerFunc) ServeH1(w *Response, r *Request) { f(w, r) }

// Server serves HTTP/1.x on listeners. Set its fields before the first
// Serve; they are not changed afterwards.
type Server struct {
	// Handler serves every request.
	Handler Handler
	// Limits bound what clients can make the server hold.
	Limits Limits
	// TLSConfig, when set, makes every connection TLS (the certificates
	// come from it, certmagic's GetCertificate in the data plane).
	TLSConfig *tls.Config
	// HTTP2 receives the TLS connections that negotiated "h2" (ALPN),
	// after the handshake, and the plain connections that open with
	// HTTP/2's preface (h2c with prior knowledge), the bytes read so far
	// replayed first; it owns them from then on (Handoff passes them to
	// net/http's server). When nil, "h2" is not offered and the preface
	// is answered 505. track, when ConnTracker or ConnState is set, is
	// the connection's tracker (ConnTracker's function, or ConnState
	// bound to the connection), told its states so far but not
	// StateHijacked: HTTP2 tells it the states from then on, StateClosed
	// last (Handoff.ConnState does, for net/http's server), so that the
	// connection is counted once.
	HTTP2 func(c net.Conn, track func(http.ConnState))
	// Refuse writes the answer to a request the server refuses itself
	// (a bad or oversized head, an unsupported version or expectation, a
	// body announced past MaxBodySize): status and Kong's message for it.
	// The connection closes after it. Nil writes the message as text.
	Refuse func(w *Response, status int, msg string)
	// ConnState, when set, is told each connection's state changes, as
	// net/http's Server.ConnState is.
	ConnState func(net.Conn, http.ConnState)
	// ConnTracker, when set, is called once per connection as it is
	// accepted, and the function it returns is told that connection's
	// state changes instead of ConnState (StateNew first): a hook that
	// keeps each connection's state without looking it up per change.
	ConnTracker func(net.Conn) func(http.ConnState)
	// ConnID, when set, numbers each connection (Request.Conn); it is
	// called once per connection, on the accepting goroutine.
	ConnID func() uint64
	// Log receives operational messages (handler panics); nil discards
	// them.
	Log *slog.Logger

	initOnce  sync.Once
	lim       Limits
	tlsConfig *tls.Config
	log       *slog.Logger
	ctx       context.Context
	cancel    context.CancelFunc

	connPool, smallPool, bigPool, outPool sync.Pool

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[*conn]struct{}
	shutting  atomic.Bool
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.lim = s.Limits.withDefaults()
		s.log = s.Log
		if s.log == nil {
			s.log = slog.New(slog.DiscardHandler)
		}
		if s.Handler == nil {
			s.Handler = HandlerFunc(func(w *Response, _ *Request) { w.WriteHeader(http.StatusNotFound) })
		}
		if s.TLSConfig != nil {
			s.tlsConfig = s.TLSConfig.Clone()
			if s.HTTP2 == nil {
				s.tlsConfig.NextProtos = slices.DeleteFunc(slices.Clone(s.tlsConfig.NextProtos),
					func(p string) bool { return p == "h2" })
			}
		}
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.listeners = map[*net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		big := s.lim.headBlock() + 8<<10
		s.connPool.New = func() any { return new(conn) }
		s.smallPool.New = func() any { b := make([]byte, smallBuf); return &b }
		s.bigPool.New = func() any { b := make([]byte, big); return &b }
		s.outPool.New = func() any { b := make([]byte, 0, outBufSize); return &b }
	})
}

func (s *Server) getSmall() *[]byte { return s.smallPool.Get().(*[]byte) }
func (s *Server) getBig() *[]byte   { return s.bigPool.Get().(*[]byte) }
func (s *Server) getOut() *[]byte   { return s.outPool.Get().(*[]byte) }

// Serve accepts connections on ln and serves each on its own goroutine
// until Shutdown or Close, when it returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	if !s.trackListener(&ln, true) {
		return ErrServerClosed
	}
	defer s.trackListener(&ln, false)
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return ErrServerClosed
			}
			// Out of descriptors (EMFILE, ENFILE) and the like are
			// temporary: Serve pauses, as net/http's does, rather than
			// end the listener.
			var ne net.Error
			var te interface{ Temporary() bool }
			if errors.As(err, &ne) && ne.Timeout() || errors.As(err, &te) && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := s.connPool.Get().(*conn)
		c.init(s, nc)
		if !s.track(c) {
			nc.Close()
			c.release()
			continue
		}
		go c.serve()
	}
}

// ServeConn serves nc, accepted elsewhere (by an event loop), on the
// calling goroutine until the connection ends, is hijacked or handed to
// HTTP2; Shutdown and Close reach it as they reach Serve's.
func (s *Server) ServeConn(nc net.Conn) {
	s.init()
	c := s.connPool.Get().(*conn)
	c.init(s, nc)
	if !s.track(c) {
		nc.Close()
		c.release()
		return
	}
	c.serve()
}

func (s *Server) trackListener(ln *net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.listeners, ln)
		return true
	}
	if s.shutting.Load() {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		return false
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	if s.ConnTracker != nil {
		c.tracker = s.ConnTracker(c.nc)
	}
	c.tell(http.StateNew)
	return true
}

// forget stops tracking c, which ends (closed) or leaves (hijacked).
func (s *Server) forget(c *conn, st http.ConnState) {
	if s.untrack(c) {
		c.tell(st)
	}
}

// untrack stops tracking c; false when it was not.
func (s *Server) untrack(c *conn) bool {
	s.mu.Lock()
	_, ok := s.conns[c]
	delete(s.conns, c)
	s.mu.Unlock()
	return ok
}

// handOff gives nc, c's connection, to HTTP2 with the tracker that
// counted it so far, which HTTP2 goes on telling: not StateHijacked then
// the HTTP/2 server's StateNew, which would count it twice.
func (s *Server) handOff(c *conn, nc net.Conn) {
	c.hijacked = true
	var track func(http.ConnState)
	if s.untrack(c) {
		track = c.tracker
		if track == nil && s.ConnState != nil {
			hook, raw := s.ConnState, c.raw
			track = func(st http.ConnState) { hook(raw, st) }
		}
	}
	s.HTTP2(nc, track)
}

// Shutdown stops accepting, closes idle connections, lets requests in
// flight finish (their connections close after the response) and waits
// for every connection to end, or for ctx: then it returns ctx's error
// and the caller may Close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.shutting.Store(true)
	s.closeListeners()
	wait := time.Millisecond
	for {
		if s.nudgeIdle() == 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// nudgeIdle wakes the connections waiting for a request, which then see
// the shutdown and close; it returns how many connections remain.
func (s *Server) nudgeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for c := range s.conns {
		if c.state.Load() != stateActive {
			c.nudged.Store(true)
			_ = c.raw.SetReadDeadline(now)
		}
	}
	return len(s.conns)
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.init()
	s.shutting.Store(true)
	s.closeListeners()
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.raw.Close()
		// A request's context is canceled with the server's; its
		// Aborter is told.
		c.abortMu.Lock()
		if a := c.aborter; a != nil {
			c.aborter = nil
			a.Abort(ErrServerClosed)
		}
		c.abortMu.Unlock()
	}
	return nil
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.listeners {
		(*ln).Close()
	}
}
