package h1

import (
	"net"
	"sync"
)

// Handoff is a net.Listener of the connections a Server hands over: set
// Server.HTTP2 to its Hand and serve it with net/http's server, which
// runs HTTP/2 on the TLS connections that negotiated "h2":
//
//	ho := h1.NewHandoff(ln.Addr())
//	h2 := &http.Server{Handler: h, TLSConfig: cfg.Clone()}
//	go h2.Serve(ho)
//	srv := &h1.Server{Handler: px, TLSConfig: cfg, HTTP2: ho.Hand}
//	go srv.Serve(ln)
type Handoff struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

var _ net.Listener = (*Handoff)(nil)

// NewHandoff returns a Handoff whose Addr is addr (the listener the
// connections came from).
func NewHandoff(addr net.Addr) *Handoff {
	return &Handoff{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Hand passes c to Accept, or closes it once the Handoff is closed.
func (h *Handoff) Hand(c net.Conn) {
	select {
	case h.conns <- c:
	case <-h.closed:
		c.Close()
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
