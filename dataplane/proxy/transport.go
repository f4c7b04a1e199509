package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/upstream"
)

// newTransport returns the keep-alive connection pool of one service: its
// connect timeout, read and write timeouts applied between two successive
// reads or writes (as nginx's proxy_read_timeout and proxy_send_timeout),
// HTTP/2 over TLS (only HTTP/2 for grpcs, h2c for grpc), and dialling
// through pool when the service's host is an upstream.
func newTransport(svc *service) *http.Transport {
	var protocols *http.Protocols
	if svc.grpc {
		// gRPC is HTTP/2 only: over TLS (grpcs) or with prior knowledge.
		protocols = new(http.Protocols)
		protocols.SetHTTP2(svc.scheme == "https")
		protocols.SetUnencryptedHTTP2(svc.scheme == "http")
	}
	return &http.Transport{
		Protocols:           protocols,
		DialContext:         newDialer(svc),
		ForceAttemptHTTP2:   svc.scheme == "https",
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     60 * time.Second,
		TLSHandshakeTimeout: msDuration(svc.m.ConnectTimeout),
		TLSClientConfig:     svc.tlsConfig(),
		DisableCompression:  true,
	}
}

// newDialer returns the service's dial function: the connect timeout,
// the target's address when the host is an upstream, and the read and
// write timeouts on the connection. The net.Dialer is made per dial: a
// service that never dials (most of a hundred thousand) holds none.
func newDialer(svc *service) func(ctx context.Context, network, addr string) (net.Conn, error) {
	connect := msDuration(svc.m.ConnectTimeout)
	read, write := msDuration(svc.m.ReadTimeout), msDuration(svc.m.WriteTimeout)
	pool := svc.pool
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if pool != nil {
			t := pool.Target(addr)
			if t == nil {
				return nil, errors.New("dialling " + addr + ": not a target of upstream " + pool.Name)
			}
			a, err := pool.Addr(ctx, t)
			if err != nil {
				return nil, &net.OpError{Op: "dial", Net: network, Err: err}
			}
			addr = a
		}
		d := net.Dialer{Timeout: connect, KeepAlive: 60 * time.Second}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &timeoutConn{Conn: c, read: read, write: write}, nil
	}
	return dial
}

// newOwnDialer returns the service's dial function on an event loop
// (connOwner): the connect timeout, then the read and write timeouts on
// the connection, as newDialer's. The address is an IP literal (a target
// of an upstream named by one dials that name).
func newOwnDialer(svc *service) func(o connOwner, addr netip.AddrPort) (net.Conn, error) {
	connect := msDuration(svc.m.ConnectTimeout)
	read, write := msDuration(svc.m.ReadTimeout), msDuration(svc.m.WriteTimeout)
	return func(o connOwner, addr netip.AddrPort) (net.Conn, error) {
		c, err := o.Dial(addr, connect)
		if err != nil {
			var op *net.OpError
			if !errors.As(err, &op) {
				err = &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: err}
			}
			return nil, err
		}
		return &timeoutConn{Conn: c, read: read, write: write}, nil
	}
}

// newTLSDialer returns dial followed by a TLS handshake with the
// service's TLS settings (tlsConfig, built on the first dial), offering
// HTTP/1.1 only, within the connect timeout as http.Transport's
// TLSHandshakeTimeout bounds it. Without a server name in the settings
// the dialled host is the name, as http.Transport has it.
func newTLSDialer(svc *service, dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	timeout := msDuration(svc.m.ConnectTimeout)
	var once sync.Once
	var cfg *tls.Config
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		once.Do(func() {
			cfg = svc.tlsConfig()
			cfg.NextProtos = []string{"http/1.1"}
		})
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := cfg
		if c.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			c = c.Clone()
			c.ServerName = host
		}
		tc := tls.Client(conn, c)
		hctx, cancel := context.WithTimeout(ctx, timeout)
		err = tc.HandshakeContext(hctx)
		expired := ctx.Err() == nil && errors.Is(hctx.Err(), context.DeadlineExceeded)
		cancel()
		if err != nil {
			conn.Close()
			if expired {
				return nil, errHandshakeTimeout
			}
			return nil, err
		}
		return tc, nil
	}
}

// errHandshakeTimeout is a TLS handshake past the connect timeout; a
// timeout (504), as http.Transport's.
var errHandshakeTimeout error = handshakeTimeout{}

type handshakeTimeout struct{}

func (handshakeTimeout) Error() string   { return "TLS handshake timeout" }
func (handshakeTimeout) Timeout() bool   { return true }
func (handshakeTimeout) Temporary() bool { return true }

func msDuration(n int) time.Duration {
	if n <= 0 {
		return 60 * time.Second
	}
	return time.Duration(n) * time.Millisecond
}

// timeoutConn fails a read when nothing arrives within the read timeout
// of its start, and a write when nothing can be sent within the write
// timeout: nginx's proxy_read_timeout and proxy_send_timeout, between two
// successive reads or writes. The connection's deadline is not set before
// every call, which costs a timer update each time: it is set when it has
// passed, and when it expires during a call that has not waited its full
// timeout, it is moved to that call's start plus the timeout and the call
// goes on. A deadline set from outside (SetDeadline and the like) ends
// the call in progress as it would on the bare connection.
type timeoutConn struct {
	net.Conn
	read, write time.Duration
	// rdl and wdl are the deadlines last set by Read and Write; each is
	// used by one goroutine at a time, as the connection's reads and
	// writes are.
	rdl, wdl time.Time
	// set counts the deadlines set from outside; rgen and wgen are its
	// value when Read and Write last set theirs.
	set        atomic.Uint32
	rgen, wgen uint32
	// rstart and wstart, when set (begin), are when the next read and
	// write start, which then need no clock read; rlast is when the last
	// read started.
	rstart, wstart, rlast time.Time
	// nowait, set while an idle connection is looked at (h1Conn.untouched),
	// makes Read keep the deadline set from outside, passed.
	nowait bool
}

// begin tells the next read and write that they start at now, a time
// the caller took: one goroutine's exchange on the connection, whose
// reads and writes follow at once.
func (c *timeoutConn) begin(now time.Time) { c.rstart, c.wstart = now, now }

// last is when the last read started, a time close to when the
// connection was last used.
func (c *timeoutConn) last() time.Time { return c.rlast }

// Read fails when nothing arrives within the read timeout.
func (c *timeoutConn) Read(b []byte) (int, error) {
	if c.nowait {
		return c.Conn.Read(b)
	}
	start, gen := c.rstart, c.set.Load()
	if start.IsZero() {
		start = time.Now()
	} else {
		c.rstart = time.Time{}
	}
	c.rlast = start
	if !start.Before(c.rdl) || gen != c.rgen {
		c.rdl, c.rgen = start.Add(c.read), gen
		_ = c.Conn.SetReadDeadline(c.rdl)
	}
	for {
		n, err := c.Conn.Read(b)
		if n > 0 || err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || c.set.Load() != gen {
			return n, err
		}
		due := start.Add(c.read)
		if !time.Now().Before(due) {
			return n, err
		}
		c.rdl = due
		_ = c.Conn.SetReadDeadline(due)
	}
}

// Write fails when nothing can be sent within the write timeout of the
// last progress.
func (c *timeoutConn) Write(b []byte) (int, error) {
	start, gen := c.wstart, c.set.Load()
	if start.IsZero() {
		start = time.Now()
	} else {
		c.wstart = time.Time{}
	}
	if !start.Before(c.wdl) || gen != c.wgen {
		c.wdl, c.wgen = start.Add(c.write), gen
		_ = c.Conn.SetWriteDeadline(c.wdl)
	}
	written := 0
	for {
		n, err := c.Conn.Write(b[written:])
		written += n
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || c.set.Load() != gen {
			return written, err
		}
		if n > 0 {
			// Progress: the timeout runs again from here.
			start = time.Now()
		}
		due := start.Add(c.write)
		if !time.Now().Before(due) {
			return written, err
		}
		c.wdl = due
		_ = c.Conn.SetWriteDeadline(due)
	}
}

// SetDeadline sets the connection's deadlines; a call in progress ends
// at them.
func (c *timeoutConn) SetDeadline(t time.Time) error {
	c.set.Add(1)
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline sets the read deadline; a read in progress ends at it.
func (c *timeoutConn) SetReadDeadline(t time.Time) error {
	c.set.Add(1)
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline; a write in progress ends at
// it.
func (c *timeoutConn) SetWriteDeadline(t time.Time) error {
	c.set.Add(1)
	return c.Conn.SetWriteDeadline(t)
}

// RoundTrip sends one upstream request: it picks a target (for a service
// on an upstream), and retries up to the service's retries on another
// target when the attempt fails (see retryable).
func (s *Server) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchangeFrom(req.Context())
	svc := ex.svc
	if req.ContentLength == 0 && len(req.TransferEncoding) == 0 {
		// No body, as ReverseProxy has it (a server's request with
		// Content-Length 0 still has a Body).
		req.Body = nil
	}
	var body *onceBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &onceBody{rc: req.Body}
		req.Body = body
	}
	var key string
	if svc.pool != nil && svc.pool.Hashing() {
		key, ex.cookie = svc.pool.HashKey(ex.hashInput(req))
	}
	ex.net = netAttempt{req: req, svc: svc}
	return s.attempts(req.Context(), ex, req.Method, key, body, &ex.net)
}

// attempt sends one attempt of an upstream request: to addr (host:port)
// with the Host host, or with the host it holds when host is "".
type attempt interface {
	send(addr, host string) (*http.Response, error)
}

// netAttempt is an *http.Request's attempt, through the service's
// h1Client when it takes the request, else its http.Transport.
type netAttempt struct {
	req *http.Request
	svc *service
}

func (a *netAttempt) send(addr, host string) (*http.Response, error) {
	req := a.req
	req.URL.Host = addr
	if host != "" {
		req.Host = host
	}
	if c := a.svc.h1(); c != nil && c.takes(req) {
		return c.RoundTrip(req)
	}
	return a.svc.roundTripper().RoundTrip(req)
}

// attempts sends an upstream request of method through a: to the target
// key picks for a service on an upstream, retried up to the service's
// retries on another target when an attempt fails (see retryable); body
// is the request's body, nil without one.
func (s *Server) attempts(ctx context.Context, ex *exchange, method, key string, body *onceBody, a attempt) (*http.Response, error) {
	svc := ex.svc
	var tried []*upstream.Target
	for attempt := 0; ; attempt++ {
		try := ex.startTry(attempt == 0 && ex.tryAtStart)
		addr, host := svc.hostPort, ""
		if svc.pool != nil {
			t, err := svc.pool.Pick(key, tried)
			if err != nil {
				ex.tries = ex.tries[:len(ex.tries)-1]
				return nil, err
			}
			ex.target = t
			addr = t.Name
			if !ex.match.Route.PreserveHost {
				host = svc.targetHost(t)
			}
		}
		ex.sent = ex.tries[try].Start
		if svc.pool != nil {
			// Picking the target is timed (endTry); without a pool
			// there is nothing to time, and no second clock read.
			ex.sent = ex.since()
		}
		ex.endTry(try, addr)
		res, err := a.send(addr, host)
		if err == nil {
			return res, nil
		}
		if ex.target != nil {
			o := upstream.TCPFailure
			if isTimeout(err) {
				o = upstream.Timeout
			}
			svc.pool.Report(ex.target, o, 0)
		}
		if g := ex.guard; g != nil && g.abandoned() != nil {
			// The client went away (the native path has no context to
			// say it): no retry for it, and it is logged as such.
			return nil, g.abandoned()
		}
		if attempt >= svc.m.Retries || !retryable(ctx, method, err, body) {
			return nil, err
		}
		ex.tries[try].Failed, ex.tries[try].Code = true, http.StatusBadGateway
		if isTimeout(err) {
			ex.tries[try].Code = http.StatusGatewayTimeout
		}
		if ex.target != nil {
			tried = append(tried, ex.target)
			ex.target.Done(0)
			ex.target = nil
		}
		ex.retries++
	}
}

// retryable applies nginx's proxy_next_upstream "error timeout", which
// Kong's retries ride on: a failed connection is retried; an error or a
// timeout before the response headers (not a response head that is
// invalid or too big) is retried for idempotent methods
// without a body (nginx does not resend a non-idempotent request once it
// was sent; a streamed body cannot be replayed).
func retryable(ctx context.Context, method string, err error, body *onceBody) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, upstream.ErrResolve) {
		return false
	}
	var bad *badResponse
	if errors.As(err, &bad) || errors.Is(err, errHeadTooBig) {
		// nginx's invalid_header, which is not in Kong's "error timeout".
		return false
	}
	if isDialError(err) {
		// Nothing was written: the transport never started on the body.
		return body == nil || !body.read
	}
	if body != nil {
		// The transport may still be reading the body in the background.
		return false
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && !errors.Is(err, upstream.ErrResolve)
}

// onceBody lets a request body survive a failed connection attempt: the
// transport's Close is deferred to the server, and read says whether any
// byte went out (then the request cannot be retried).
type onceBody struct {
	rc   io.ReadCloser
	read bool
}

// Read marks the body as (partly) sent.
func (b *onceBody) Read(p []byte) (int, error) {
	b.read = true
	return b.rc.Read(p)
}

// Close is left to the server, which closes the request body itself.
func (b *onceBody) Close() error { return nil }

// startTry records the start of an upstream attempt; it returns its index
// in ex.tries. atStart says the attempt starts when the request did
// (ex.start): no clock read.
func (ex *exchange) startTry(atStart bool) int {
	if ex.tries == nil {
		ex.tries = ex.triesBuf[:0]
	}
	start := ex.start
	if !atStart {
		start = time.Now()
	}
	ex.tries = append(ex.tries, plugin.Try{Start: start})
	return len(ex.tries) - 1
}

// endTry completes attempt i: the target picked (host:port) and how long
// picking it took.
func (ex *exchange) endTry(i int, hostPort string) {
	t := &ex.tries[i]
	t.Latency = ex.sent.Sub(t.Start)
	if svc := ex.svc; svc != nil && svc.pool == nil && hostPort == svc.hostPort {
		// The service's own address, made of its host and port.
		if host, port, ok := svc.dialed(); ok {
			t.IP, t.Port = host, port
			return
		}
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.IP = hostPort
		return
	}
	t.IP = host
	t.Port, _ = strconv.Atoi(port)
}
