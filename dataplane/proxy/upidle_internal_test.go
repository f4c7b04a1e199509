package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/internal/peek"
)

// TestUpstreamIdleClosed: an upstream that closes, half-closes or
// resets a kept-alive connection while it is idle in the pool, or that
// answers a new connection before it was asked: a GET sent on the idle
// connection is sent again on a new one, and an early answer is read as
// the answer. A read that waits before it reads (the request written
// inside RawConn.Read) loses what came before the wait and fails here
// with the read timeout, a hang guard otherwise.
func TestUpstreamIdleClosed(t *testing.T) {
	t.Parallel()
	const res = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	for _, tc := range []struct {
		desc string
		// idle is done to the first connection after its first answer.
		idle func(c *net.TCPConn)
		// early answers a new connection before reading its request.
		early bool
	}{
		{desc: "closed", idle: func(c *net.TCPConn) { c.Close() }},
		{desc: "half-closed, reading on", idle: func(c *net.TCPConn) {
			_ = c.CloseWrite()
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}},
		{desc: "reset", idle: func(c *net.TCPConn) { _ = c.SetLinger(0); c.Close() }},
		{desc: "answered before asked", early: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { ln.Close() })
			// Only connections that carried this test's requests count:
			// other tests' proxies may connect to this port.
			var accepted atomic.Int64
			var closedOne atomic.Bool
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					t.Cleanup(func() { c.Close() })
					go func() {
						br := bufio.NewReader(c)
						if tc.early {
							_, _ = io.WriteString(c, res)
							_, _ = http.ReadRequest(br)
							return // and keeps the connection open
						}
						for counted := false; ; {
							req, err := http.ReadRequest(br)
							if err != nil {
								return
							}
							ours := req.Header.Get(tokenField) == t.Name()
							if ours && !counted {
								counted = true
								accepted.Add(1)
							}
							if _, err := io.WriteString(c, res); err != nil {
								return
							}
							if ours && tc.idle != nil && closedOne.CompareAndSwap(false, true) {
								tc.idle(c.(*net.TCPConn))
								return
							}
						}
					}()
				}
			}()
			c := newH1Client("http", func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				if tc.early {
					// The answer is there before the request is written.
					waitPeek(t, conn, peek.Pending)
				}
				return &timeoutConn{Conn: conn, read: 20 * time.Second, write: 20 * time.Second}, nil
			})
			t.Cleanup(c.CloseIdleConnections)
			addr := ln.Addr().String()
			roundTrip := func() {
				t.Helper()
				req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
				require.NoError(t, err)
				req.Header.Set(tokenField, t.Name())
				res, err := c.RoundTrip(req)
				require.NoError(t, err)
				body, err := io.ReadAll(res.Body)
				require.NoError(t, err)
				res.Body.Close()
				assert.Equal(t, "ok", string(body))
			}
			roundTrip()
			if tc.early {
				return
			}
			// The pooled connection has seen the upstream's close.
			p := c.pool(poolKey{addr: addr})
			p.mu.Lock()
			idle := p.conns
			require.Len(t, idle, 1)
			raw := idle[0].raw
			p.mu.Unlock()
			waitPeek(t, raw, peek.Closed)
			roundTrip()
			assert.Equal(t, int64(2), accepted.Load())
		})
	}
}

// waitPeek waits until a look at conn finds want, parked on the
// socket's readiness (bytes or the peer's close), with a read deadline as
// a hang guard. The function given to RawConn.Read looks at the socket
// itself before the goroutine parks, so a readiness reported earlier is
// not lost.
func waitPeek(t *testing.T, conn net.Conn, want peek.State) {
	t.Helper()
	sc, ok := conn.(syscall.Conn)
	require.True(t, ok, "%T has no file descriptor", conn)
	rc, err := sc.SyscallConn()
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	defer func() { _ = conn.SetReadDeadline(time.Time{}) }()
	for peek.Conn(conn) != want {
		var b [1]byte
		err := rc.Read(func(fd uintptr) bool {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return !errors.Is(err, syscall.EAGAIN)
		})
		require.NoError(t, err, "connection never %v", want)
	}
}

// TestNativeDialAborted: on the native path (no context per request) a
// connection being made to the upstream is given up when the client
// goes away, and one made meanwhile is closed; the request fails with
// the client's cause (logged 499).
func TestNativeDialAborted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc string
		// heedless dials ignore their context: the connection is made
		// after the client went away.
		heedless bool
		// before aborts the exchange before the request is sent.
		before bool
	}{
		{desc: "dial in progress"},
		{desc: "connection made after the abort", heedless: true},
		{desc: "aborted before the dial", before: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			started, proceed := make(chan struct{}), make(chan struct{})
			var dials atomic.Int64
			var made net.Conn
			c := newH1Client("http", func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				close(started)
				if !tc.heedless {
					<-ctx.Done()
					return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
				}
				<-proceed
				var peer net.Conn
				made, peer = net.Pipe()
				t.Cleanup(func() { peer.Close() })
				return made, nil
			})
			x := new(nativeExchange)
			g := new(nativeGuard)
			x.guard = g
			if tc.before {
				g.Abort(h1.ErrClientClosed)
			}
			done := make(chan error, 1)
			go func() {
				_, err := c.send(context.Background(), &x.exchange, "upstream.test:80", http.MethodGet, rawHead("GET / HTTP/1.1\r\nHost: upstream.test\r\n\r\n"), nil)
				done <- err
			}()
			if !tc.before {
				<-started
				g.Abort(h1.ErrClientClosed)
				close(proceed)
			}
			err := <-done
			assert.ErrorIs(t, err, context.Canceled)
			assert.ErrorIs(t, err, h1.ErrClientClosed)
			if tc.before {
				assert.Zero(t, dials.Load())
			}
			if tc.heedless {
				_, werr := made.Write([]byte("x"))
				assert.ErrorIs(t, werr, io.ErrClosedPipe, "the connection made after the abort is closed")
			}
		})
	}
}

// rawHead is a request head written as it is (requestHead).
type rawHead string

func (h rawHead) appendHead(b []byte) ([]byte, error) { return append(b, h...), nil }

// tokenField marks a test's requests to its own upstream with the
// test's name.
const tokenField = "X-Test-Token"
