package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skyport-gw/skyport/internal/peek"
)

// h1Client sends HTTP/1.1 requests on keep-alive connections of its
// own, plain or over TLS (the dial function does the handshake): the
// head is written and the response read in the calling goroutine, with
// no reader and writer goroutine per connection and no hand-offs between
// them, which is most of what http.Transport costs per request. A body
// held in memory goes out with the head; another is streamed by a
// goroutine of its own while the response is read, as an upstream may
// answer before it read the body. Requests it does not take (see takes)
// go to the service's http.Transport.
type h1Client struct {
	// scheme is the services' scheme, http or https.
	scheme string
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	// ownDial dials on an event loop (connOwner) with the service's
	// connect, read and write timeouts; nil for a client that is never
	// sent requests from one (https services).
	ownDial  func(o connOwner, addr netip.AddrPort) (net.Conn, error)
	maxIdle  int
	idleTime time.Duration

	// home is the service's own address when its host is dialed (no
	// upstream; setHome), "" otherwise: the pools of home, the address
	// of every request of such a service, are reached without the map
	// and its lock, Go's netpoller's through homePool and each event
	// loop's through loops. homeIP says an event loop dials home without
	// resolving it (an IP literal and a port).
	home     string
	homeIP   bool
	homePool *idlePool
	// loops holds, per event loop that sent to home, its pool of home:
	// a slice copied on write under mu, scanned without a lock (one
	// entry per event loop, GOMAXPROCS per listener).
	loops atomic.Pointer[[]loopPool]

	mu sync.Mutex
	// pools holds every pool of idle connections, per owner and
	// address: an event loop's are for its tasks only, Go's
	// netpoller's (owner nil) for everyone else.
	pools  map[poolKey]*idlePool
	closed bool
	// owners holds, per event loop the client dialed on, what cancels
	// the drop of its pools when it exits (connOwner.OnExit).
	owners map[connOwner]func()
}

// poolKey is a pool of idle connections: those to addr of owner.
type poolKey struct {
	owner connOwner
	addr  string
}

// idlePool holds the idle connections to one address of one owner. Its
// lock is its own: an event loop's pools are locked by the loop's tasks
// alone, but for CloseIdleConnections, so it is not contended.
type idlePool struct {
	key poolKey
	mu  sync.Mutex
	// conns are the idle connections, the most recently used last.
	conns []*h1Conn
	// closed says the pool keeps nothing more: the client's idle
	// connections were closed, or its owner exited.
	closed bool
}

// loopPool is an event loop's pool of the client's home address.
type loopPool struct {
	owner connOwner
	pool  *idlePool
}

// connOwner is an event loop serving client connections
// (dataplane/loop's Loop): a native request whose client connection it
// serves sends its upstream request on a connection dialed on that loop
// (Dial, which parks the task rather than blocking the loop) and pooled
// apart, since only the loop's tasks may use it; when the loop exits
// (OnExit: its listener closed and its connections ended) the client
// drops those pools. nil stands for Go's netpoller.
type connOwner interface {
	Dial(addr netip.AddrPort, timeout time.Duration) (net.Conn, error)
	// OnExit has fn called once the owner exited, ok false when it has
	// already; cancel forgets fn.
	OnExit(fn func()) (cancel func(), ok bool)
}

// h1Conn is one upstream connection with its buffers: the request head
// is built in wbuf and written at once; a response head is read into
// head, ends marking its lines (see readHead).
type h1Conn struct {
	// pool is the pool the connection returns to, of its owner and
	// address.
	pool *idlePool
	addr string
	conn net.Conn
	// tc is conn, or the connection under TLS, when it is a timeoutConn;
	// raw is the network connection at the bottom, which peek looks at.
	tc     *timeoutConn
	raw    net.Conn
	br     *bufio.Reader
	wbuf   []byte
	head   []byte
	ends   []int
	fields []fieldSpan
	since  time.Time

	// wdone, when not nil, is closed once the goroutine streaming the
	// current request's body ended; werr says how.
	wdone chan struct{}
	wmu   sync.Mutex
	werr  error
}

// errClosedIdle says a reused connection was found closed before anything
// of the response arrived: the request is sent again on a new one.
var errClosedIdle = errors.New("upstream closed an idle connection")

// maxReuseAttempts bounds how many idle connections one request may find
// closed before a new connection is dialled.
const maxReuseAttempts = 3

// maxInline bounds a request written at once, head and a body held in
// memory: a write that size does not wait for the upstream to read.
const maxInline = 16 << 10

func newH1Client(scheme string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *h1Client {
	return &h1Client{scheme: scheme, dial: dial, maxIdle: 256, idleTime: 60 * time.Second, pools: map[poolKey]*idlePool{}}
}

// setHome makes addr the client's home address (h1Client.home), before
// the client is used.
func (c *h1Client) setHome(addr string) {
	key := poolKey{addr: addr}
	c.home, c.homeIP = addr, ipAddrPort(addr)
	c.homePool = &idlePool{key: key}
	c.pools[key] = c.homePool
}

// loopDials reports whether an event loop dials addr without resolving
// it: an IP literal and a port.
func (c *h1Client) loopDials(addr string) bool {
	if c.home != "" && addr == c.home {
		return c.homeIP
	}
	return ipAddrPort(addr)
}

// pool returns the pool of key, made when there is none: the home
// address's without a lock (home, loops), the others' from the map.
func (c *h1Client) pool(key poolKey) *idlePool {
	if c.home != "" && key.addr == c.home {
		if key.owner == nil {
			return c.homePool
		}
		if ls := c.loops.Load(); ls != nil {
			for i := range *ls {
				if (*ls)[i].owner == key.owner {
					return (*ls)[i].pool
				}
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pools[key]
	if p != nil {
		return p
	}
	// A client closed keeps nothing, in a pool made since too.
	p = &idlePool{key: key, closed: c.closed}
	c.pools[key] = p
	if key.owner != nil && c.home != "" && key.addr == c.home {
		var ls []loopPool
		if old := c.loops.Load(); old != nil {
			ls = append(ls, *old...)
		}
		ls = append(ls, loopPool{owner: key.owner, pool: p})
		c.loops.Store(&ls)
	}
	return p
}

// takes reports whether req can be sent by the client: not an upgrade,
// to the client's scheme; a request with a body only when its head is
// one appendRequest writes itself.
func (c *h1Client) takes(req *http.Request) bool {
	_, upgrade := req.Header["Upgrade"]
	if upgrade || req.Close || req.URL.Scheme != c.scheme {
		return false
	}
	_, hasBody := outgoing(req)
	return !hasBody || plainRequest(req)
}

// outgoing says how req's body is sent: with a Content-Length of length,
// or chunked (length -1); hasBody false when there is none. A body of
// unknown length is sent chunked, as http.Transport sends it.
func outgoing(req *http.Request) (length int64, hasBody bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return 0, false
	}
	if len(req.TransferEncoding) > 0 && req.TransferEncoding[0] == "chunked" {
		return -1, true
	}
	if req.ContentLength > 0 {
		return req.ContentLength, true
	}
	return -1, true
}

// replayable reports whether a request may be sent again after it was
// written on a connection that turned out closed: http.Transport's rule,
// no body and a method that changes nothing, or an idempotency key.
func replayable(req *http.Request, hasBody bool) bool {
	if hasBody {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// RoundTrip sends req and reads the response headers; the body reads from
// the connection, which returns to the pool once the body is read to its
// end and closed.
func (c *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	res, err := c.send(ctx, exchangeFrom(ctx), req.URL.Host, req.Method, httpHead{req}, req)
	if res != nil {
		res.Request = req
	}
	return res, err
}

// requestHead writes the head of a request.
type requestHead interface {
	appendHead(b []byte) ([]byte, error)
}

// httpHead is the head of an *http.Request (appendRequest).
type httpHead struct{ req *http.Request }

func (h httpHead) appendHead(b []byte) ([]byte, error) { return appendRequest(b, h.req) }

// send sends the request head writes to addr and reads the response
// headers, as RoundTrip does; ex, when not nil, is the proxy's exchange
// (the attempt's start time, informational responses). req is the
// request whose body follows the head and whose fields say whether it
// may be sent again; nil for a request without a body of a method that
// may (the native path's: GET, HEAD, OPTIONS, TRACE).
func (c *h1Client) send(ctx context.Context, ex *exchange, addr, method string, head requestHead,
	req *http.Request) (*http.Response, error) {
	// The time the attempt started, when the proxy took it: a clock
	// read costs a few hundred nanoseconds on some virtual machines.
	var now time.Time
	if ex != nil {
		now = ex.sent
	}
	if now.IsZero() {
		now = time.Now()
	}
	length, hasBody, replay := int64(0), false, true
	var owner connOwner
	if ex != nil {
		owner = ex.owner
	}
	p := c.pool(poolKey{owner: owner, addr: addr})
	if req != nil {
		length, hasBody = outgoing(req)
		replay = replayable(req, hasBody)
	}
	for attempt := 0; ; attempt++ {
		var pc *h1Conn
		if attempt < maxReuseAttempts {
			pc = c.reuse(p, now, !replay)
		}
		reused := pc != nil
		if pc == nil {
			var err error
			if pc, err = c.connect(ctx, ex, p); err != nil {
				return nil, err
			}
		}
		if pc.tc != nil {
			pc.tc.begin(now)
		}
		res, err := c.exchange(ctx, ex, pc, method, head, req, reused, replay, length, hasBody)
		if errors.Is(err, errClosedIdle) {
			continue
		}
		return res, err
	}
}

// reuse takes an idle connection of p, nil when none. A request that
// cannot be sent again once written (check) gets one the upstream has
// neither closed nor written to since, as far as a look tells (untouched):
// what http.Transport learns from the read it keeps pending on every idle
// connection.
func (c *h1Client) reuse(p *idlePool, now time.Time, check bool) *h1Conn {
	for {
		pc := c.get(p, now)
		if pc == nil || !check || pc.untouched() {
			return pc
		}
		pc.conn.Close()
	}
}

// untouched reports whether pc, idle, is as the last response left it:
// nothing to read on the socket, which is peeked at (internal/peek), nor,
// under TLS, in the records crypto/tls already took from it, which a
// read that does not wait goes through: a close_notify that came with
// the last response is there, unseen by the peek. Whatever that read
// takes makes the connection unusable anyway (an idle connection has
// nothing to give), so nothing is lost.
func (pc *h1Conn) untouched() bool {
	switch peek.Conn(pc.raw) {
	case peek.Closed, peek.Pending:
		return false
	}
	tc, ok := pc.conn.(*tls.Conn)
	if !ok {
		return true
	}
	if pc.tc != nil {
		pc.tc.nowait = true
	}
	// A deadline passed: the read takes nothing from the socket.
	_ = tc.SetReadDeadline(time.Unix(1, 0))
	var b [1]byte
	n, err := tc.Read(b[:])
	_ = tc.SetReadDeadline(time.Time{})
	if pc.tc != nil {
		pc.tc.nowait = false
	}
	return n == 0 && isTimeout(err)
}

// connect dials a new connection for p: to its address, on its owner
// when it has one (the address is then an IP literal: the native path detaches
// from the loop before any other). On the native path (ex has a guard
// and ctx is not the request's) a dial of Go's netpoller is canceled
// when the client goes away, as the request's context cancels it
// elsewhere; an event loop's ends within the connect timeout.
func (c *h1Client) connect(ctx context.Context, ex *exchange, p *idlePool) (*h1Conn, error) {
	var conn net.Conn
	var err error
	key := p.key
	addr := key.addr
	if key.owner != nil {
		ap, perr := netip.ParseAddrPort(addr)
		if perr != nil || c.ownDial == nil {
			return nil, fmt.Errorf("dialling %s on an event loop: not an IP address and port", addr)
		}
		// A loop's dial is not canceled: a client gone already is not
		// dialed for; one that goes meanwhile has the connection closed
		// when the exchange holds it (connGuard.hold).
		if ex != nil && ex.guard != nil {
			if err := ex.guard.abandoned(); err != nil {
				return nil, err
			}
		}
		conn, err = c.ownDial(key.owner, ap)
		if err == nil && !c.watchOwner(key.owner) {
			conn.Close()
			return nil, fmt.Errorf("dialling %s: %w", addr, net.ErrClosed)
		}
	} else if ex != nil && ex.guard != nil {
		conn, err = guardedDial(ctx, ex.guard, c.dial, addr)
	} else {
		conn, err = c.dial(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	inner := conn
	if tc, ok := conn.(*tls.Conn); ok {
		inner = tc.NetConn()
	}
	pc := &h1Conn{pool: p, addr: addr, conn: conn, raw: inner, br: bufio.NewReaderSize(conn, 4096)}
	if tc, ok := inner.(*timeoutConn); ok {
		pc.tc, pc.raw = tc, tc.Conn
	}
	return pc, nil
}

// exchange writes the request head writes (then req's body, when
// hasBody) on pc and reads the response headers. A failure on a reused
// connection before any byte of the response arrived is errClosedIdle
// when the request may be sent again: replay, or nothing of it was
// written.
func (c *h1Client) exchange(ctx context.Context, ex *exchange, pc *h1Conn, method string, head requestHead,
	req *http.Request, reused, replay bool, length int64, hasBody bool) (*http.Response, error) {
	// A canceled request (the client went away) closes the connection,
	// which ends a blocked read or write: through the exchange's guard
	// on the native path, else through the context.
	var g connGuard
	if ex != nil {
		g = ex.guard
	}
	var stop func() bool
	if g != nil {
		if err := g.hold(pc.conn); err != nil {
			pc.conn.Close()
			return nil, err
		}
	} else {
		stop = context.AfterFunc(ctx, func() { _ = pc.conn.Close() })
	}
	pc.wdone = nil
	fail := func(err error) (*http.Response, error) {
		release(g, stop)
		pc.conn.Close()
		if err := abandoned(ctx, g); err != nil {
			return nil, err
		}
		if werr := pc.sendFailure(); werr != nil {
			return nil, werr
		}
		return nil, err
	}
	b, err := head.appendHead(pc.wbuf[:0])
	if err != nil {
		return fail(err)
	}
	var body io.Reader
	if hasBody {
		body = req.Body
		if held, ok := heldBytes(body, maxInline-len(b)); ok && length == int64(len(held)) {
			b = append(b, held...)
			body = nil
		}
	}
	if cap(b) <= maxInline {
		pc.wbuf = b
	}
	if n, err := pc.conn.Write(b); err != nil {
		return fail(closedIdle(err, reused && (replay || n == 0), false))
	}
	if body != nil {
		pc.wdone, pc.werr = make(chan struct{}), nil
		go pc.sendBody(req, body, length)
	}
	// skipped counts the bytes of the informational heads not relayed:
	// with the final head they stay within maxResponseHead, as
	// http.Transport bounds the heads it does not deliver.
	skipped := 0
	for {
		if _, err := pc.br.Peek(1); err != nil {
			return fail(closedIdle(err, reused && replay, true))
		}
		h, err := pc.parseResponse(method, maxResponseHead-skipped)
		if err != nil {
			return fail(err)
		}
		if h.code >= 200 || h.code == http.StatusSwitchingProtocols {
			var body *h1Body
			view := ex != nil && ex.view != nil && ex.view.takes(&h, pc)
			if view {
				body = &ex.view.body
			} else {
				body = new(h1Body)
			}
			*body = h1Body{c: c, pc: pc, guard: g, stop: stop, reuse: !h.close, framing: h.framing}
			switch h.framing {
			case bodyNone:
				body.eof = true
			case bodyLength:
				body.left = h.length
				body.eof = body.left == 0
			}
			if view {
				// The native path relays the head from pc (relayView).
				ex.view.head, ex.view.ok = h, true
				return nil, nil
			}
			res := pc.response(&h)
			body.res = res
			res.Body = body
			return res, nil
		}
		res := pc.response(&h)
		// An informational response (103 Early Hints) is forwarded, then
		// the final one is read. "100 Continue" is not: the client had
		// its own when its body was first read, which for a streamed body
		// may happen while an informational response would be written, so
		// none is forwarded then.
		if res.StatusCode == http.StatusContinue || (body != nil && ex != nil && ex.expectContinue) {
			skipped += len(pc.head)
			continue
		}
		if ex != nil && ex.direct {
			h := ex.rec.Header()
			for k, vv := range res.Header {
				h[k] = vv
			}
			ex.rec.WriteHeader(res.StatusCode)
			clear(h)
		} else if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(res.StatusCode, textproto.MIMEHeader(res.Header)); err != nil {
				return fail(err)
			}
		}
	}
}

// connGuard closes a request's upstream connection when its client goes
// away, where the request has no context to carry that (the native path:
// h1 tells the exchange, Request.OnAbort): it replaces the context's
// AfterFunc, which costs allocations per request.
type connGuard interface {
	// hold registers c, the connection the request is sent on (or what
	// cancels its dial), to be closed when the client goes away; the
	// cause when it went already.
	hold(c io.Closer) error
	// release ends hold; false when the client went away while c was
	// held (c is closed, or being closed).
	release() bool
	// abandoned is the cause once the client went away, else nil.
	abandoned() error
}

// guardedDial dials addr with a context g cancels when the client goes
// away (hold); the cause is the dial's error then, a connection made
// meanwhile closed.
func guardedDial(ctx context.Context, g connGuard, dial func(ctx context.Context, network, addr string) (net.Conn, error),
	addr string) (net.Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := g.hold(cancelFunc(cancel)); err != nil {
		return nil, err
	}
	conn, err := dial(ctx, "tcp", addr)
	if !g.release() {
		if conn != nil {
			conn.Close()
		}
		return nil, g.abandoned()
	}
	return conn, err
}

// cancelFunc closes by canceling: a dial's context held by a connGuard.
type cancelFunc context.CancelFunc

func (f cancelFunc) Close() error { f(); return nil }

// release ends the watch on a request's connection: g's, or the
// context's AfterFunc (stop); false when the request was abandoned.
func release(g connGuard, stop func() bool) bool {
	if g != nil {
		return g.release()
	}
	return stop()
}

// abandoned is why the request was given up (the client went away), or
// nil.
func abandoned(ctx context.Context, g connGuard) error {
	if g != nil {
		if err := g.abandoned(); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// closedIdle turns the failure of a reused connection before the response
// started into errClosedIdle when the request may be sent again (retry):
// a write that failed on the network, or a read that found the connection
// closed or reset (peeked says the request was fully written). Timeouts
// and malformed requests stay as they are.
func closedIdle(err error, retry, peeked bool) error {
	if !retry || isTimeout(err) {
		return err
	}
	var op *net.OpError
	if (!peeked && errors.As(err, &op)) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("%w: %w", errClosedIdle, err)
	}
	return err
}

// get takes the most recently used idle connection of p, closing those
// idle for too long at now; nil when none.
func (c *h1Client) get(p *idlePool, now time.Time) *h1Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.conns
	for len(list) > 0 {
		pc := list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		if now.Sub(pc.since) < c.idleTime {
			p.conns = list
			return pc
		}
		pc.conn.Close()
	}
	p.conns = list
	return nil
}

// put returns pc to the pool, or closes it when the pool is full or
// closed; the oldest connections idle for too long are closed on the way.
func (c *h1Client) put(pc *h1Conn) {
	if pc.br.Buffered() > 0 {
		// Bytes the upstream sent beyond the response: not reusable.
		pc.conn.Close()
		return
	}
	// The last read's start is close enough to the connection's last use
	// and costs no clock read.
	if pc.tc != nil {
		pc.since = pc.tc.last()
	} else {
		pc.since = time.Now()
	}
	p := pc.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.conns
	for len(list) > 0 && pc.since.Sub(list[0].since) >= c.idleTime {
		list[0].conn.Close()
		list[0] = nil
		list = list[1:]
	}
	if p.closed || len(list) >= c.maxIdle {
		p.conns = list
		pc.conn.Close()
		return
	}
	p.conns = append(list, pc)
}

// close closes p's idle connections; later ones are closed instead of
// kept.
func (p *idlePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.conn.Close()
	}
	p.conns, p.closed = nil, true
}

// CloseIdleConnections closes the idle connections; later ones are closed
// instead of kept.
func (c *h1Client) CloseIdleConnections() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pools {
		p.close()
	}
	for _, cancel := range c.owners {
		cancel()
	}
	c.owners = nil
	c.closed = true
}

// watchOwner has the pools of o, an event loop the client dialed on, and
// their connections dropped when o exits (which closed the connections):
// otherwise they would stay, as no request of o comes to take or expire
// them. Done once per loop, when a connection is dialed on it; false
// when o exited already.
func (c *h1Client) watchOwner(o connOwner) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.owners[o]; ok || c.closed {
		return true
	}
	cancel, ok := o.OnExit(func() { c.dropOwner(o) })
	if !ok {
		return false
	}
	if c.owners == nil {
		c.owners = map[connOwner]func(){}
	}
	c.owners[o] = cancel
	return true
}

// dropOwner closes and forgets the idle connections of o, an event loop
// that exited.
func (c *h1Client) dropOwner(o connOwner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, p := range c.pools {
		if key.owner != o {
			continue
		}
		p.close()
		delete(c.pools, key)
	}
	if old := c.loops.Load(); old != nil {
		ls := make([]loopPool, 0, len(*old))
		for _, lp := range *old {
			if lp.owner != o {
				ls = append(ls, lp)
			}
		}
		c.loops.Store(&ls)
	}
	delete(c.owners, o)
}

// h1Body is a response body, read from the connection as its framing
// says: read to its end and closed, its connection returns to the pool;
// closed earlier, the connection is closed.
type h1Body struct {
	c   *h1Client
	pc  *h1Conn
	res *http.Response
	// guard, or else stop, ends the watch for the client going away
	// (see release).
	guard   connGuard
	stop    func() bool
	framing framing
	// left is what is left of the body (bodyLength) or of the current
	// chunk (bodyChunked); chunkEnd says the chunk's CRLF is still to
	// read.
	left     int64
	chunkEnd bool
	err      error
	eof      bool
	reuse    bool
	done     bool
}

// Read reads from the connection.
func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, net.ErrClosed
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.readBody(p)
	if err == io.EOF {
		// A body read until close (bodyClose) came with res.Close set, so
		// reuse is already false.
		b.eof = true
	} else if err != nil {
		b.err = err
	}
	return n, err
}

// Close releases the connection: back to the pool when the body was read
// to its end, closed otherwise.
func (b *h1Body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	if !b.eof {
		// Unblock and end the body's reader rather than draining it.
		b.pc.conn.Close()
		release(b.guard, b.stop)
		return nil
	}
	if !release(b.guard, b.stop) || !b.reuse || !b.pc.sent() {
		// The request was canceled (the connection's deadline is
		// spoiled), or its body was not sent whole.
		b.pc.conn.Close()
		return nil
	}
	b.c.put(b.pc)
	return nil
}

// plainRequest reports whether appendRequest writes req's head itself:
// nothing unusual (an opaque URL, a host to convert, a request traced
// field by field).
func plainRequest(req *http.Request) bool {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	trace := httptrace.ContextClientTrace(req.Context())
	return req.URL.Opaque == "" && plainHost(host) &&
		(trace == nil || trace.WroteHeaderField == nil && trace.WroteHeaders == nil && trace.WroteRequest == nil)
}

// appendRequest appends req's head to b as Request.Write writes it,
// without sorting the header fields or formatting through fmt; the body
// is framed as outgoing says. Anything unusual (plainRequest) goes
// through Request.Write, for a request without a body only.
func appendRequest(b []byte, req *http.Request) ([]byte, error) {
	length, hasBody := outgoing(req)
	if !plainRequest(req) {
		if hasBody {
			return b, errors.New("request with a body and an unusual head")
		}
		w := bytes.NewBuffer(b)
		err := req.Write(w)
		return w.Bytes(), err
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	uri := req.URL.RequestURI()
	for i := 0; i < len(uri); i++ {
		if uri[i] < ' ' || uri[i] == 0x7f {
			return b, errors.New("net/http: can't write control character in Request.URL")
		}
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if ua, ok := req.Header["User-Agent"]; !ok {
		b = append(b, "User-Agent: Go-http-client/1.1\r\n"...)
	} else if len(ua) > 0 && ua[0] != "" {
		b = appendField(b, "User-Agent", ua[0])
	}
	switch {
	case hasBody && length >= 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, length, 10)
		b = append(b, "\r\n"...)
	case hasBody:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
		if len(req.Trailer) > 0 {
			var err error
			if b, err = appendTrailerNames(b, req.Trailer); err != nil {
				return b, err
			}
		}
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		// Many servers expect a Content-Length for these methods.
		b = append(b, "Content-Length: 0\r\n"...)
	}
	for k, vs := range req.Header {
		if k == "User-Agent" || unwritten(k) {
			continue
		}
		if !validFieldName(k) {
			continue
		}
		for _, v := range vs {
			b = appendField(b, k, v)
		}
	}
	return append(b, "\r\n"...), nil
}

// appendField appends one header field, its value on one line and
// trimmed as Request.Write does.
func appendField[K, V string | []byte](b []byte, k K, v V) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	start := len(b)
	b = append(b, v...)
	return appendValueEnd(b, start)
}

// appendValueEnd ends the field whose value starts at b[start:]: line
// ends in it become spaces and white space around it is trimmed, as
// Request.Write does, then the CRLF.
func appendValueEnd(b []byte, start int) []byte {
	v := b[start:]
	for i, c := range v {
		if c == '\r' || c == '\n' {
			v[i] = ' '
		}
	}
	i, j := 0, len(v)
	for i < j && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	for j > i && (v[j-1] == ' ' || v[j-1] == '\t') {
		j--
	}
	n := copy(v, v[i:j])
	return append(b[:start+n], "\r\n"...)
}

// unwritten reports whether Request.Write leaves the field key out of a
// request's head (User-Agent aside, which it writes first).
func unwritten(key string) bool {
	switch key {
	case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
		return true
	}
	return false
}

// plainHost reports whether host is an ASCII host[:port] Request.Write
// would send unchanged.
func plainHost(host string) bool {
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == ':', c == '_':
		case c == '[' || c == ']':
			// An IPv6 literal without a zone: sent unchanged.
		default:
			return false
		}
	}
	return true
}

// validFieldName reports whether k is an RFC 7230 token.
func validFieldName[T string | []byte](k T) bool {
	if len(k) == 0 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !tchar[k[i]] {
			return false
		}
	}
	return true
}

// tchar marks the bytes of a token: one lookup per byte of every field
// name sent and received.
var tchar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()
