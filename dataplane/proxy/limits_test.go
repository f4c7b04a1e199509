package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// edge is a proxy served as the data plane serves it: its Frontend on a
// real listener whose connections are counted (ln), unless event loops
// serve them (edgeOn): loops accept from the listener itself, and ln is
// nil.
type edge struct {
	px    *proxy.Server
	addr  string
	ln    *countingListener
	front *proxy.Frontend
}

// newEdgeOn is an edge serving cfg, with Options.EventLoop set to
// eventLoop.
func newEdgeOn(t *testing.T, eventLoop string, cfg *model.Config, limits proxy.Limits) *edge {
	t.Helper()
	px := proxy.New(proxy.Options{Version: "test", RequestID: true, Log: slog.New(slog.DiscardHandler),
		RetireTimeout: 5 * time.Second, Limits: limits, EventLoop: eventLoop})
	if cfg != nil {
		require.NoError(t, px.Apply(context.Background(), cfg, 1, "test"))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e := &edge{px: px, addr: ln.Addr().String(), front: px.Frontend(nil)}
	served := ln
	if !onLoops(eventLoop) {
		e.ln = &countingListener{Listener: ln}
		served = e.ln
	}
	go func() { _ = e.front.Serve(served) }()
	t.Cleanup(func() {
		_ = e.front.Close()
		px.Close()
	})
	return e
}

// edgeTo is an edge with one route to addr.
func edgeTo(t *testing.T, addr string, limits proxy.Limits, routeOpts ...func(*model.Route)) *edge {
	t.Helper()
	return edgeOn(t, "off", addr, limits, routeOpts...)
}

// edgeOn is edgeTo with Options.EventLoop set to eventLoop.
func edgeOn(t *testing.T, eventLoop, addr string, limits proxy.Limits, routeOpts ...func(*model.Route)) *edge {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	var p int
	_, err = fmt.Sscan(port, &p)
	require.NoError(t, err)
	r := route("r", "s", "/")
	for _, f := range routeOpts {
		f(r)
	}
	return newEdgeOn(t, eventLoop, &model.Config{Services: []*model.Service{service("s", host, p, "")}, Routes: []*model.Route{r}}, limits)
}

// countingListener records, per accepted connection, how many bytes the
// server read and whether it closed the connection.
type countingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*countingConn
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, cc)
	l.mu.Unlock()
	return cc, nil
}

func (l *countingListener) accepted() []*countingConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*countingConn(nil), l.conns...)
}

type countingConn struct {
	net.Conn
	read   atomic.Int64
	closed atomic.Bool
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

// rawResponse reads one response from conn, failing the test when none
// comes within a generous bound.
func rawResponse(t *testing.T, conn net.Conn) (*http.Response, string) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// closedByServer waits (within a generous bound) for the server to close
// conn: a read returns EOF or a reset rather than time out.
func closedByServer(t *testing.T, conn net.Conn, rd io.Reader) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	if rd == nil {
		rd = conn
	}
	_, err := io.Copy(io.Discard, rd)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the connection open")
	}
}

func TestHeaderLimits(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	e := edgeTo(t, b.addr, proxy.Limits{})
	tests := []struct {
		desc       string
		head       string
		wantStatus int
		wantBody   string
	}{
		{desc: "within the limits", head: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 7000) + "\r\n\r\n",
			wantStatus: http.StatusOK},
		// nginx's large_client_header_buffers 4 8k: a field longer than one
		// buffer is 494, which Kong answers 400 (kong/error_handlers.lua).
		{desc: "a field longer than a buffer", head: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n",
			wantStatus: http.StatusBadRequest, wantBody: "Request header or cookie too large"},
		{desc: "a host longer than a buffer", head: "GET / HTTP/1.1\r\nHost: " + strings.Repeat("a", 9000) + "\r\n\r\n",
			wantStatus: http.StatusBadRequest, wantBody: "Request header or cookie too large"},
		{desc: "a request line longer than a buffer", head: "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
			wantStatus: http.StatusRequestURITooLong, wantBody: "URI too long"},
		// A block past 4 × 8k is refused before it is read whole, with
		// nginx's answer (net/http answered 431).
		{desc: "a 64 KB header", head: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n",
			wantStatus: http.StatusBadRequest, wantBody: "Request header or cookie too large"},
		{desc: "many fields past the block", head: "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 4000)+"\r\n", 10) + "\r\n",
			wantStatus: http.StatusBadRequest, wantBody: "Request header or cookie too large"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", e.addr)
			require.NoError(t, err)
			defer conn.Close()
			go func() { _, _ = io.WriteString(conn, tt.head) }()
			res, body := rawResponse(t, conn)
			assert.Equal(t, tt.wantStatus, res.StatusCode, body)
			if tt.wantBody != "" {
				// nginx's own errors, answered by kong/error_handlers.lua:
				// text/plain without an Accept header.
				assert.Equal(t, kongPlain(res, tt.wantBody), body)
			}
			if tt.wantStatus >= 400 {
				assert.True(t, res.Close, "the connection is closed after a refused head")
			}
		})
	}
	t.Cleanup(func() { // after the subtests
		assert.EqualValues(t, 1, b.hits.Load(), "only the request within the limits reached the upstream")
	})
}

func TestIdleConnectionsClosed(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	e := edgeTo(t, b.addr, proxy.Limits{KeepaliveTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	res, err := http.ReadResponse(rd, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.False(t, res.Close, "kept alive after the response")
	closedByServer(t, conn, rd)
}

func TestSlowHeadersClosed(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	e := edgeTo(t, b.addr, proxy.Limits{HeaderTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	require.NoError(t, err)
	closedByServer(t, conn, nil)
	assert.Zero(t, b.hits.Load())
}

// TestHeaderMemoryBounded: connections that send headers and never finish
// them make the proxy hold at most one header block each. The proxy's
// reads are counted on its side of every connection, and the heap the
// held heads take is measured in-process once every connection settled
// (refused and closed, or read up to what the client sent). Not parallel:
// the heap is measured.
func TestHeaderMemoryBounded(t *testing.T) {
	b := newBackend(t, "b", nil)
	e := edgeTo(t, b.addr, proxy.Limits{})
	block := int64(proxy.DefaultHeaderBuffers * proxy.DefaultHeaderBufferSize)
	// A line under the buffer size, repeated.
	line := "X-Pad: " + strings.Repeat("p", 1000) + "\r\n"
	head := func(size int) []byte {
		return []byte("GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat(line, size/len(line)))
	}
	tests := []struct {
		desc string
		// size is the unfinished head each connection sends.
		size int
		// refused says the proxy answers and closes every connection.
		refused bool
	}{
		{desc: "1 MB unfinished heads are refused at the block", size: 1 << 20, refused: true},
		{desc: "heads held just under the block", size: int(block) - 2048},
	}
	const conns = 64
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			payload := head(tt.size)
			before := e.ln.accepted()
			base := heapInUse()
			clients := make([]net.Conn, conns)
			written := make([]atomic.Int64, conns)
			var wg sync.WaitGroup
			for i := range clients {
				c, err := net.Dial("tcp", e.addr)
				require.NoError(t, err)
				t.Cleanup(func() { c.Close() })
				clients[i] = c
				wg.Go(func() {
					_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
					n, _ := c.Write(payload)
					written[i].Store(int64(n))
				})
			}
			wg.Wait()
			// Every connection settled: closed by the proxy, or read up to
			// what its client sent.
			var ours []*countingConn
			eventually(t, "every connection settled", func() bool {
				ours = e.ln.accepted()[len(before):]
				if len(ours) < conns {
					return false
				}
				var sent, read int64
				for i := range clients {
					sent += written[i].Load()
				}
				for _, c := range ours {
					if c.closed.Load() {
						continue
					}
					read += c.read.Load()
				}
				return tt.refused && allClosed(ours) || !tt.refused && read == sent
			})
			held := heapInUse() - base
			t.Logf("%d connections × %d bytes: the proxy read at most %d bytes of one, heap held %d KB",
				conns, len(payload), maxRead(ours), held>>10)
			// net/http reads in 4 KB chunks: one more chunk than the block.
			assert.LessOrEqual(t, maxRead(ours), block+4096, "no connection was read past the header block")
			assert.Less(t, held, int64(conns)*256<<10, "the heads held take at most a few blocks each")
			if tt.refused {
				for _, c := range clients {
					res, _ := rawResponse(t, c)
					assert.GreaterOrEqual(t, res.StatusCode, 400)
					assert.Less(t, res.StatusCode, 500)
				}
			}
		})
	}
	assert.Zero(t, b.hits.Load(), "no unfinished head reached the upstream")
}

func allClosed(cs []*countingConn) bool {
	for _, c := range cs {
		if !c.closed.Load() {
			return false
		}
	}
	return true
}

func maxRead(cs []*countingConn) int64 {
	var m int64
	for _, c := range cs {
		m = max(m, c.read.Load())
	}
	return m
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
