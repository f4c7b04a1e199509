package h1_test

import (
	"bufio"
	"io"
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

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// TestBodyFaults: a body the client gets wrong is answered as the
// client's fault (dataplane/proxy/body_test.go TestClientBodyFaults): a
// bad chunk size 400, a stalled body 408 after BodyTimeout, a body past
// MaxBodySize 413, and the connection is closed.
func TestBodyFaults(t *testing.T) {
	t.Parallel()
	handler := h1.HandlerFunc(echo)
	addr := start(t, &h1.Server{Handler: handler, Limits: h1.Limits{BodyTimeout: time.Minute, MaxBodySize: 1000}})
	// Only the stalled body waits for BodyTimeout, on a server of its own:
	// a timeout that short would also expire on a complete body whose read
	// waits for a CPU on a loaded machine.
	stall := start(t, &h1.Server{Handler: handler, Limits: h1.Limits{BodyTimeout: 100 * time.Millisecond}})
	tests := []struct {
		desc       string
		addr       string
		request    string
		wantStatus int
	}{
		{desc: "bad chunk size", addr: addr, request: chunkedPost + "5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n", wantStatus: http.StatusBadRequest},
		{desc: "chunk size overflowing", addr: addr, request: chunkedPost + "5\r\nhello\r\nffffffffffffffffff\r\n", wantStatus: http.StatusBadRequest},
		{desc: "body stalled", addr: stall, request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab", wantStatus: http.StatusRequestTimeout},
		{desc: "chunked body stalled", addr: stall, request: chunkedPost + "a\r\nab", wantStatus: http.StatusRequestTimeout},
		{desc: "announced past the limit", addr: addr, request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n", wantStatus: http.StatusRequestEntityTooLarge},
		{desc: "chunked past the limit", addr: addr, request: chunkedPost + "7d0\r\n" + strings.Repeat("x", 2000) + "\r\n0\r\n\r\n", wantStatus: http.StatusRequestEntityTooLarge},
		{desc: "chunks adding up past the limit", addr: addr, request: chunkedPost + strings.Repeat("1f4\r\n"+strings.Repeat("x", 500)+"\r\n", 3) + "0\r\n\r\n", wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			res, body := roundTrip(t, tt.addr, tt.request)
			assert.Equal(t, tt.wantStatus, res.StatusCode, body)
			assert.True(t, res.Close, "the connection is closed")
		})
	}
}

func TestIdleConnectionsClosed(t *testing.T) {
	t.Parallel()
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(echo), Limits: h1.Limits{KeepaliveTimeout: 100 * time.Millisecond}})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	res, _ := readResponse(t, conn, rd)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.False(t, res.Close, "kept alive after the response")
	closedByServer(t, conn, rd)
}

func TestSlowHeadersClosed(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	addr := start(t, &h1.Server{
		Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) { hits.Add(1) }),
		Limits:  h1.Limits{HeaderTimeout: 100 * time.Millisecond},
	})
	for _, sent := range []string{"", "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "} {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, sent)
		require.NoError(t, err)
		closedByServer(t, conn, nil)
	}
	assert.Zero(t, hits.Load())
}

// TestHeaderMemoryBounded: connections that send heads and never finish
// them make the server read and hold at most one header block each
// (dataplane/proxy/limits_test.go TestHeaderMemoryBounded, where net/http
// read one 4 KB chunk past the block). Not parallel: the heap is
// measured.
func TestHeaderMemoryBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cl := &countingListener{Listener: ln}
	s := &h1.Server{Handler: h1.HandlerFunc(echo)}
	go func() { _ = s.Serve(cl) }()
	t.Cleanup(func() { _ = s.Close() })
	addr := ln.Addr().String()
	block := int64(h1.DefaultHeaderBuffers * h1.DefaultHeaderBufferSize)
	line := "X-Pad: " + strings.Repeat("p", 1000) + "\r\n"
	head := func(size int) []byte {
		return []byte("GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat(line, size/len(line)))
	}
	tests := []struct {
		desc    string
		size    int
		refused bool
	}{
		{desc: "1 MB unfinished heads are refused at the block", size: 1 << 20, refused: true},
		{desc: "heads held just under the block", size: int(block) - 2048},
	}
	const conns = 64
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			payload := head(tt.size)
			before := len(cl.accepted())
			base := heapInUse()
			clients := make([]net.Conn, conns)
			written := make([]atomic.Int64, conns)
			var wg sync.WaitGroup
			for i := range clients {
				c, err := net.Dial("tcp", addr)
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
			var ours []*countingConn
			eventually(t, "every connection settled", func() bool {
				ours = cl.accepted()[before:]
				if len(ours) < conns {
					return false
				}
				var sent, read int64
				closed := 0
				for i := range clients {
					sent += written[i].Load()
				}
				for _, c := range ours {
					if c.closed.Load() {
						closed++
						continue
					}
					read += c.read.Load()
				}
				return tt.refused && closed == conns || !tt.refused && read == sent
			})
			held := heapInUse() - base
			var most int64
			for _, c := range ours {
				most = max(most, c.read.Load())
			}
			t.Logf("%d connections × %d bytes: the server read at most %d bytes of one, heap held %d KB",
				conns, len(payload), most, held>>10)
			assert.LessOrEqual(t, most, block, "no connection was read past the header block")
			assert.Less(t, held, int64(conns)*64<<10, "the heads held take at most a block and a bit each")
			if tt.refused {
				for _, c := range clients {
					res, body := readResponse(t, c, bufio.NewReader(c))
					assert.Equal(t, http.StatusBadRequest, res.StatusCode, body)
				}
			}
		})
	}
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

func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
