package h1

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one client connection and everything its requests reuse: the
// read buffer the heads are parsed in, the write buffer, the Request and
// the Response. Pooled by the server.
type conn struct {
	s *Server
	// nc is the connection served (TLS over raw on a TLS listener); raw
	// is the accepted one, which Shutdown and Close reach.
	nc, raw   net.Conn
	remote    netip.AddrPort
	localPort uint16
	tlsState  *tls.ConnectionState
	// tracker is Server.ConnTracker's for this connection, nil without
	// one.
	tracker func(http.ConnState)

	// buf holds the bytes read: buf[r:w] are not consumed yet. While a
	// handler runs, buf[:bodyBase] is its request's head.
	buf []byte
	big bool
	// bufp and retiredp are the pooled boxes of buf and of a small buffer
	// the request's fields still view after its body moved to a big one.
	bufp, retiredp *[]byte
	r, w, bodyBase int
	scan           headScan
	// out is the write buffer; nil while the connection is idle.
	out  []byte
	outp *[]byte
	// iov holds the two parts of a writev.
	iov net.Buffers

	req  Request
	resp Response

	state atomic.Int32
	// nudged says Shutdown moved the read deadline: the next one is set
	// whatever the last one was.
	nudged   atomic.Bool
	rdl, wdl time.Time

	// id numbers the connection (Server.ConnID); requests counts the
	// requests it carried.
	id, requests uint64

	// ctx is the request's context while its handler runs; watch
	// cancels it when the client goes away.
	ctx    context.Context
	cancel context.CancelCauseFunc
	watch  *watch
	// watching says the watch was armed for the request in flight (its
	// context or an Aborter asked for it).
	watching bool
	// aborter, set by Request.OnAbort, is told when the client goes
	// away; abortMu guards it and ctx's cancel against the watch's
	// goroutine and Server.Close.
	abortMu sync.Mutex
	aborter Aborter
	// cw and dt are nc as a connection an event loop serves (nil on
	// Go's netpoller, and once detached): the loop watches it for the
	// client going away (cwWatch, not 0, is that watch's number, which
	// StopWatch ends; cwWait says it starts when the body ends; cwGone
	// says the client went), and Detach moves it off the loop. cwFn is
	// peerClosed, bound once per pooled conn.
	cw      closeWatcher
	dt      detacher
	cwWatch uint64
	cwFn    func(error)
	cwWait  bool
	cwGone  atomic.Bool
	// pending is a byte of the next request the watch read.
	pending     bool
	pendingByte byte

	closeAfter bool
	// unread: the connection closes on a request body left unread, which
	// its client may still be sending (linger).
	unread    bool
	afterPOST bool
	hijacked  bool
	werr      error
}

// The states Shutdown reads.
const (
	stateNew int32 = iota
	stateActive
	stateIdle
)

// smallBuf is the read buffer of an idle connection, and of requests
// whose head fits it.
const smallBuf = 4 << 10

func (c *conn) init(s *Server, nc net.Conn) {
	c.s, c.nc, c.raw = s, nc, nc
	c.cw, _ = nc.(closeWatcher)
	c.dt, _ = nc.(detacher)
	c.req.c, c.resp.c = c, c
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		// An IPv4 client of a dual-stack listener comes as an
		// IPv4-mapped address: its IPv4 one, as net/http's RemoteAddr.
		ap := a.AddrPort()
		c.remote = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	if a, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		c.localPort = uint16(a.Port)
	}
	c.bufp = s.getSmall()
	c.buf = *c.bufp
	if s.ConnID != nil {
		c.id = s.ConnID()
	}
}

// release returns the connection's buffers and itself to the pools.
func (c *conn) release() {
	s := c.s
	c.putBuf()
	c.releaseRetired()
	c.releaseOut()
	c.req.reset()
	c.resp.header.Reset()
	c.resp.trailer.Reset()
	req, resp, w, fn := c.req, c.resp, c.watch, c.cwFn
	*c = conn{req: req, resp: resp, watch: w, cwFn: fn}
	s.connPool.Put(c)
}

func (c *conn) putBuf() {
	if c.big {
		c.s.bigPool.Put(c.bufp)
	} else if c.bufp != nil {
		c.s.smallPool.Put(c.bufp)
	}
	c.buf, c.bufp, c.big = nil, nil, false
}

func (c *conn) releaseRetired() {
	if c.retiredp != nil {
		c.s.smallPool.Put(c.retiredp)
		c.retiredp = nil
	}
}

// serve runs the connection's requests until it ends.
func (c *conn) serve() {
	s := c.s
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler { //nolint:errorlint // a panic value, not a returned error
			s.log.Error("h1: panic serving a request", "remote", c.remote.String(), "panic", p, "stack", string(debug.Stack()))
		}
		hijacked := c.hijacked
		if !hijacked {
			c.nc.Close()
			s.forget(c, http.StateClosed)
		}
		// A handler that panicked left its watch running: the close
		// ended its read.
		c.endRequest()
		c.release()
	}()
	if s.tlsConfig != nil && !c.handshake() {
		return
	}
	first := true
	for {
		err := c.readRequest(first)
		if err != nil {
			var he *headError
			if errors.As(err, &he) {
				if first && c.priorKnowledge(he) {
					return
				}
				c.refuse(he.status, he.msg)
			}
			return
		}
		first = false
		c.requests++
		c.handle()
		if c.hijacked || c.closeAfter || s.shutting.Load() {
			if !c.hijacked && c.flush() == nil && c.unread {
				c.linger()
			}
			return
		}
	}
}

// handshake runs the TLS handshake within HeaderTimeout and hands a
// connection that negotiated h2 to the HTTP/2 server; it reports whether
// HTTP/1.x goes on.
func (c *conn) handshake() bool {
	s := c.s
	tc := tls.Server(c.nc, s.tlsConfig)
	_ = c.nc.SetDeadline(time.Now().Add(s.lim.HeaderTimeout))
	if err := tc.HandshakeContext(s.ctx); err != nil {
		s.log.Debug("h1: TLS handshake failed", "remote", c.remote.String(), "error", err)
		return false
	}
	st := tc.ConnectionState()
	switch st.NegotiatedProtocol {
	case "", "http/1.1", "http/1.0":
	case "h2":
		if s.HTTP2 == nil || c.detach() != nil {
			return false
		}
		_ = tc.SetDeadline(time.Time{})
		s.handOff(c, tc)
		return false
	default:
		// acme-tls/1: the handshake was the whole exchange.
		return false
	}
	c.nc, c.tlsState = tc, &st
	_ = tc.SetDeadline(time.Time{})
	return true
}

// priorKnowledge hands a plain connection that opened with HTTP/2's
// preface (h2c with prior knowledge: "PRI * HTTP/2.0\r\n\r\n", a head
// the parser refuses with 505, then "SM\r\n\r\n", which the HTTP/2
// server checks) to Server.HTTP2, the bytes read so far replayed first;
// it reports whether it did.
func (c *conn) priorKnowledge(he *headError) bool {
	s := c.s
	const line = "PRI * HTTP/2.0\r\n\r\n"
	if s.HTTP2 == nil || c.tlsState != nil || he.status != http.StatusHTTPVersionNotSupported ||
		c.w < len(line) || string(c.buf[:len(line)]) != line || c.detach() != nil {
		return false
	}
	_ = c.nc.SetDeadline(time.Time{})
	pre := append([]byte(nil), c.buf[:c.w]...)
	s.handOff(c, &hijackedConn{Conn: c.nc, pre: pre})
	return true
}

// readRequest reads and parses the next request head: it waits for the
// first byte up to HeaderTimeout on a new connection and KeepaliveTimeout
// on a kept-alive one, then for the rest of the head up to HeaderTimeout.
// A refused head is a *headError; other errors close the connection
// without an answer.
func (c *conn) readRequest(first bool) error {
	s := c.s
	c.prepareBuffer()
	c.scan.reset(0)
	started, headDeadline := c.w > 0, false
	for {
		if c.afterPOST {
			c.skipLeadingCRLF()
		}
		if c.w > c.scan.pos {
			end, herr := c.scan.scan(c.buf, c.w, &s.lim)
			if herr != nil {
				return herr
			}
			if end > 0 {
				return c.beginRequest(end)
			}
		}
		if c.w == len(c.buf) {
			c.growForHead()
		}
		switch {
		case !started:
			if err := c.flush(); err != nil {
				return err
			}
			c.releaseOut()
			c.setState(stateIdle, http.StateIdle)
			if first {
				c.readDeadline(s.lim.HeaderTimeout)
			} else {
				c.readDeadline(s.lim.KeepaliveTimeout)
			}
			if s.shutting.Load() {
				return ErrServerClosed
			}
		case !headDeadline:
			// The head is split across reads: from its first bytes, it
			// has HeaderTimeout to arrive.
			c.readDeadline(s.lim.HeaderTimeout)
			headDeadline = true
		}
		// A head is never read past the header block.
		n, err := c.nc.Read(c.buf[c.w:min(len(c.buf), c.scan.start+s.lim.headBlock())])
		c.w += n
		if n > 0 && !started {
			started = true
			c.setState(stateActive, http.StateActive)
		}
		if err != nil {
			return err
		}
	}
}

// skipLeadingCRLF drops up to four CR or LF bytes before a request that
// follows a POST, the tolerance net/http has for clients that end a body
// with an extra CRLF.
func (c *conn) skipLeadingCRLF() {
	for c.scan.start < c.w && c.scan.start < 4 && (c.buf[c.scan.start] == '\r' || c.buf[c.scan.start] == '\n') {
		c.scan.reset(c.scan.start + 1)
	}
	if c.scan.start == 4 || c.scan.start < c.w {
		c.afterPOST = false
	}
}

// prepareBuffer moves the unconsumed bytes (a pipelined request) to the
// start of the buffer, back in the small buffer when they fit.
func (c *conn) prepareBuffer() {
	n := c.w - c.r
	if c.big && n <= smallBuf {
		small := c.s.getSmall()
		copy(*small, c.buf[c.r:c.w])
		c.s.bigPool.Put(c.bufp)
		c.bufp, c.buf, c.big = small, *small, false
	} else if c.r > 0 {
		copy(c.buf, c.buf[c.r:c.w])
	}
	c.r, c.w = 0, n
	if c.pending {
		// n is 0: the watch read only when nothing was buffered.
		c.buf[c.w] = c.pendingByte
		c.w++
		c.pending = false
	}
}

// growForHead moves a head that outgrew the small buffer to a big one
// (the scan refuses a head past the block before the big one fills).
func (c *conn) growForHead() {
	if c.big {
		return
	}
	big := c.s.getBig()
	copy(*big, c.buf[:c.w])
	c.s.smallPool.Put(c.bufp)
	c.bufp, c.buf, c.big = big, *big, true
}

// growForBody moves the unread body bytes to a big buffer; the small one
// is kept until the handler returns, as its request's fields view it.
func (c *conn) growForBody() {
	if c.big {
		return
	}
	big := c.s.getBig()
	copy(*big, c.buf[:c.w])
	c.retiredp = c.bufp
	c.bufp, c.buf, c.big = big, *big, true
}

// beginRequest parses the head ending at end and prepares its body.
func (c *conn) beginRequest(end int) error {
	r := &c.req
	if err := r.parseHead(c.buf[c.scan.start:end]); err != nil {
		return err
	}
	c.r, c.bodyBase = end, end
	if lim := c.s.lim.MaxBodySize; lim > 0 && r.contentLength > lim {
		return &headError{status: http.StatusRequestEntityTooLarge, msg: msgTooLarge, why: "Content-Length past the limit"}
	}
	c.afterPOST = string(r.method) == http.MethodPost
	r.body.init(c, r)
	if r.close {
		c.closeAfter = true
	}
	return nil
}

// handle runs the handler on the parsed request and completes the
// exchange: the response, then the request body.
func (c *conn) handle() {
	c.resp.begin()
	c.s.Handler.ServeH1(&c.resp, &c.req)
	c.endRequest()
	if c.hijacked {
		return
	}
	// What the handler left of the body is read before the head is
	// written, so that the head says whether the connection stays.
	if !c.req.body.done() {
		c.drainBody()
	}
	c.resp.finish()
	if c.r == c.w || c.closeAfter {
		_ = c.flush()
	}
	c.releaseRetired()
	c.req.reset()
	c.resp.reset()
}

// maxDrain is how much of a body its handler left unread the server
// reads to keep the connection (net/http's maxPostHandlerReadBytes).
const maxDrain = 256 << 10

// drainBody reads what the handler left of the body, so the connection
// can serve the next request, or closes the connection when the body is
// long or the client still waits for "100 Continue".
func (c *conn) drainBody() {
	b := &c.req.body
	if c.req.expectContinue {
		c.closeAfter = true // the client sends nothing before "100 Continue"
		return
	}
	c.unread = true // cleared below if the rest is read
	if c.closeAfter || b.err != nil {
		c.closeAfter = true
		return
	}
	if !b.chunked && b.left > maxDrain {
		c.closeAfter = true
		return
	}
	var scratch [2048]byte
	for n := 0; n <= maxDrain; {
		k, err := b.Read(scratch[:])
		n += k
		if err != nil {
			if !b.done() {
				c.closeAfter = true
			} else {
				c.unread = false
			}
			return
		}
	}
	c.closeAfter = true
}

// refuse answers a refused head and closes the connection: its FIN is
// sent, then the close waits briefly so the client reads the answer
// before unread bytes turn the close into a reset (net/http waits the
// same 500ms; nginx lingers).
func (c *conn) refuse(status int, msg string) {
	c.closeAfter = true
	c.req.reset()
	c.req.minor = 1
	c.resp.begin()
	if c.s.Refuse != nil {
		c.s.Refuse(&c.resp, status, msg)
	} else {
		c.resp.header.Set("Content-Type", "text/plain; charset=utf-8")
		c.resp.WriteHeader(status)
		_, _ = c.resp.Write([]byte(msg + "\n"))
	}
	c.resp.finish()
	if c.flush() != nil {
		return
	}
	c.linger()
}

// linger sends the connection's FIN, then keeps it open briefly so the
// client reads the answer before bytes it is still sending, unread,
// turn the close into a reset (net/http's closeWriteAndWait; nginx's
// lingering close).
func (c *conn) linger() {
	// The wait would stall an event loop's other connections.
	if c.detach() != nil {
		return
	}
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		time.Sleep(refuseLinger)
	}
}

// refuseLinger is how long a connection closed on a client still sending
// stays open after its answer.
const refuseLinger = 500 * time.Millisecond

func (c *conn) setState(st int32, hook http.ConnState) {
	c.state.Store(st)
	c.tell(hook)
}

// tell gives the state change to the connection's tracker, or to the
// server's ConnState with the accepted connection (the same one each
// time, TLS or not, as a hook keyed by it needs).
func (c *conn) tell(st http.ConnState) {
	if c.tracker != nil {
		c.tracker(st)
	} else if c.s.ConnState != nil {
		c.s.ConnState(c.raw, st)
	}
}
