package h1

import (
	"net"
	"net/http"
	"sync"
)

// Handoff is a net.Listener of the connections a Server hands over: set
// Server.HTTP2 to its Hand and serve it with net/http's server, which
// runs HTTP/2 on the TLS connections that negotiated "h2":
//
//	ho := h1.NewHandoff(ln.Addr())
//	h2 := &http.Server{Handler: h, TLSConfig: cfg.Clone(), ConnState: ho.ConnState(hook)}
//	go h2.Serve(ho)
//	srv := &h1.Server{Handler: px, TLSConfig: cfg, HTTP2: ho.Hand, ConnState: hook}
//	go srv.Serve(ln)
type Handoff struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	// trackers holds the trackers of the connections handed over with
	// one, until they are reported closed.
	trackers sync.Map // net.Conn → func(http.ConnState)
}

var _ net.Listener = (*Handoff)(nil)

// NewHandoff returns a Handoff whose Addr is addr (the listener the
// connections came from).
func NewHandoff(addr net.Addr) *Handoff {
	return &Handoff{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Hand passes c to Accept, or closes it once the Handoff is closed;
// track, when not nil, is told c's states that the server serving the
// Handoff reports to ConnState (Server.HTTP2).
func (h *Handoff) Hand(c net.Conn, track func(http.ConnState)) {
	if track != nil {
		h.trackers.Store(c, track)
	}
	select {
	case h.conns <- c:
	case <-h.closed:
		c.Close()
		if track != nil {
			h.trackers.Delete(c)
			track(http.StateClosed)
		}
	}
}

// ConnState is the ConnState hook of the server serving the Handoff: the
// states of a connection handed with a tracker go to it but StateNew (h1
// counted it as it accepted it), until StateClosed; the other
// connections' go to next (nil: none).
func (h *Handoff) ConnState(next func(net.Conn, http.ConnState)) func(net.Conn, http.ConnState) {
	return func(c net.Conn, st http.ConnState) {
		v, ok := h.trackers.Load(c)
		if !ok {
			if next != nil {
				next(c, st)
			}
			return
		}
		switch st {
		case http.StateNew:
			return
		case http.StateClosed, http.StateHijacked:
			h.trackers.Delete(c)
		}
		v.(func(http.ConnState))(st)
	}
}

// Accept returns the next connection handed over.
func (h *Handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.closed:
		return nil, net.ErrClosed
	}
}

// Close makes Accept fail and Hand close what it is given.
func (h *Handoff) Close() error {
	h.once.Do(func() { close(h.closed) })
	return nil
}

// Addr is the address given to NewHandoff.
func (h *Handoff) Addr() net.Addr { return h.addr }
