package h1_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// loopConn is a connection as an event loop serves it, for h1's side of
// the contract (dataplane/loop's Conn implements it on epoll): WatchClose
// arms fn until StopWatch, which the test fires as the loop would when
// the peer closes; Detach records the move to Go's netpoller.
type loopConn struct {
	net.Conn
	mu                     sync.Mutex
	fn                     func(error)
	watch                  uint64
	arms, stops, detaches  int
	armed, detachedSignals chan struct{}
}

func newLoopConn(c net.Conn) *loopConn {
	return &loopConn{Conn: c, armed: make(chan struct{}, 8), detachedSignals: make(chan struct{}, 8)}
}

func (c *loopConn) WatchClose(fn func(error)) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.detaches > 0 {
		panic("WatchClose after Detach")
	}
	c.fn = fn
	c.arms++
	c.watch++
	c.armed <- struct{}{}
	return c.watch
}

func (c *loopConn) StopWatch(watch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if watch != c.watch {
		panic("a stale watch stopped")
	}
	c.fn = nil
	c.stops++
}

func (c *loopConn) Detach() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fn != nil {
		panic("Detach with a watch armed")
	}
	c.detaches++
	c.detachedSignals <- struct{}{}
	return nil
}

// fire tells the armed watch the peer closed; false when none is armed.
func (c *loopConn) fire() bool {
	c.mu.Lock()
	fn := c.fn
	c.fn = nil
	c.mu.Unlock()
	if fn == nil {
		return false
	}
	fn(io.EOF)
	return true
}

func (c *loopConn) counts() (arms, stops, detaches int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.arms, c.stops, c.detaches
}

// loopListener hands out its connections as loopConns.
type loopListener struct {
	net.Listener
	conns chan *loopConn
}

func (l *loopListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := newLoopConn(c)
	l.conns <- lc
	return lc, nil
}

// startLoop serves s on loopConns; the server's side of each accepted
// connection comes on the channel.
func startLoop(t *testing.T, s *h1.Server) (string, chan *loopConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ll := &loopListener{Listener: ln, conns: make(chan *loopConn, 8)}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ll) }()
	t.Cleanup(func() {
		_ = s.Close()
		require.ErrorIs(t, <-done, h1.ErrServerClosed)
	})
	return ln.Addr().String(), ll.conns
}

type abortFunc func(error)

func (f abortFunc) Abort(cause error) { f(cause) }

// TestEventLoopWatch: on a connection an event loop serves, the
// client-abort watch is the loop's (WatchClose), armed once the body
// ended with nothing buffered after it and stopped when the handler
// returns; no read runs beside the handler. The loop telling the client
// left cancels the context and tells the Aborter, and the connection
// closes after the exchange.
func TestEventLoopWatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, raw string
		aborter   bool
	}{
		{"context, no body", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"aborter, no body", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"context, length body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", false},
		{"aborter, chunked body", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			causes := make(chan error, 1)
			addr, conns := startLoop(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
				lc := r.NetConn().(*loopConn)
				aborted := make(chan error, 1)
				var ctx context.Context
				if tc.aborter {
					r.OnAbort(abortFunc(func(cause error) { aborted <- cause }))
				} else {
					ctx = r.Context()
				}
				if arms, _, _ := lc.counts(); r.HasBody() && arms != 0 {
					causes <- assert.AnError // armed before the body ended
					return
				}
				if _, err := io.ReadAll(r.Body()); err != nil {
					causes <- err
					return
				}
				<-lc.armed
				if h1.WatchPhase(r) != "off" {
					causes <- assert.AnError // a read runs beside the handler
					return
				}
				lc.fire()
				if tc.aborter {
					causes <- <-aborted
				} else {
					causes <- waitDone(ctx)
				}
				w.WriteHeader(http.StatusOK)
			})})
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			lc := <-conns
			_, err = io.WriteString(conn, tc.raw)
			require.NoError(t, err)
			assert.ErrorIs(t, <-causes, h1.ErrClientClosed)
			rd := bufio.NewReader(conn)
			res, _ := readResponse(t, conn, rd)
			assert.Equal(t, http.StatusOK, res.StatusCode)
			closedByServer(t, conn, rd)
			arms, stops, detaches := lc.counts()
			assert.Equal(t, [3]int{1, 1, 0}, [3]int{arms, stops, detaches}, "arms, stops, detaches")
		})
	}
}

// TestEventLoopWatchPipelined: requests sent at once are all served on
// a kept connection, the loop's watch never armed while the next one is
// buffered; a request that asks for its context and ends is stopped.
func TestEventLoopWatchPipelined(t *testing.T) {
	t.Parallel()
	addr, conns := startLoop(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		_ = r.Context()
		echo(w, r)
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	lc := <-conns
	_, err = io.WriteString(conn, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	for _, want := range []string{"path=/a\n", "body=hi\n", "path=/c\n"} {
		res, body := readResponse(t, conn, rd)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, want)
	}
	// Only the last request had nothing buffered after it.
	arms, stops, _ := lc.counts()
	assert.Equal(t, 1, arms)
	assert.Equal(t, 1, stops)
}

// TestEventLoopDetach: a connection leaves its event loop before anything
// that needs other goroutines or would block — the handler's Detach,
// Hijack, the h2c hand-off, the linger after a refused head — with the
// loop's watch stopped first; after the handler's Detach, the watch goes
// on as the read beside it and sees the client leave.
func TestEventLoopDetach(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, raw string
		h         func(w *h1.Response, r *h1.Request, causes chan<- error)
		status    int
	}{
		{"handler", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", func(_ *h1.Response, r *h1.Request, causes chan<- error) {
			ctx := r.Context()
			if err := r.Detach(); err != nil {
				causes <- err
				return
			}
			// The test closes the client once detached.
			causes <- waitDone(ctx)
		}, 0},
		{"hijack", "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", func(w *h1.Response, r *h1.Request, causes chan<- error) {
			_ = r.Context()
			echoUpgrade(w)
			causes <- h1.ErrClientClosed
		}, http.StatusSwitchingProtocols},
		{"refused head", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", nil, http.StatusBadRequest},
		{"h2c preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			causes := make(chan error, 1)
			handed := make(chan net.Conn, 1)
			addr, conns := startLoop(t, &h1.Server{
				Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) { tc.h(w, r, causes) }),
				HTTP2:   func(c net.Conn, _ func(http.ConnState)) { handed <- c },
			})
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			lc := <-conns
			_, err = io.WriteString(conn, tc.raw)
			require.NoError(t, err)
			<-lc.detachedSignals
			switch {
			case tc.desc == "handler":
				require.NoError(t, conn.Close())
				assert.ErrorIs(t, <-causes, h1.ErrClientClosed)
			case tc.desc == "h2c preface":
				c := <-handed
				c.Close()
			case tc.desc == "hijack":
				res, err := http.ReadResponse(bufio.NewReader(conn), nil)
				require.NoError(t, err)
				assert.Equal(t, tc.status, res.StatusCode)
				assert.ErrorIs(t, <-causes, h1.ErrClientClosed)
			default:
				res, _ := readResponse(t, conn, bufio.NewReader(conn))
				assert.Equal(t, tc.status, res.StatusCode)
			}
			arms, stops, detaches := lc.counts()
			assert.Equal(t, arms, stops, "every watch armed is stopped")
			assert.Equal(t, 1, detaches)
		})
	}
}

// TestServeConn: a connection accepted elsewhere is served on the
// caller's goroutine until it ends; Close reaches it.
func TestServeConn(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	s := &h1.Server{Handler: h1.HandlerFunc(echo)}
	served := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err == nil {
			s.ServeConn(c)
		}
		close(served)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	rd := bufio.NewReader(conn)
	for range 2 {
		_, err = io.WriteString(conn, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		res, body := readResponse(t, conn, rd)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, "path=/x\n")
	}
	require.NoError(t, s.Close())
	<-served
	closedByServer(t, conn, rd)
}
