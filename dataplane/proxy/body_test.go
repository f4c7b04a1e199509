package proxy_test

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

func unbufferedRequests(r *model.Route) { r.RequestBuffering = false }

// TestSlowBodiesHoldNoUpstream: with request_buffering (the default), a
// client sending its body slowly holds no upstream connection; the
// upstream gets the whole body, with a Content-Length, once it arrived.
// On goroutines and on event loops.
func TestSlowBodiesHoldNoUpstream(t *testing.T) {
	t.Parallel()
	for _, fe := range frontends {
		t.Run(fe.name, func(t *testing.T) {
			t.Parallel()
			upLn, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer upLn.Close()
			e := edgeOn(t, fe.eventLoop, upLn.Addr().String(), proxy.Limits{})

			const clients = 5
			head := "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n"
			conns := make([]net.Conn, clients)
			for i := range conns {
				c, err := net.Dial("tcp", e.addr)
				require.NoError(t, err)
				defer c.Close()
				conns[i] = c
				_, err = io.WriteString(c, head)
				require.NoError(t, err)
			}
			// The proxy read each head; then half of each body arrives and is read
			// by whoever reads bodies (the upstream transport when streaming, after
			// it connected; the buffer otherwise).
			eventually(t, "the heads read", func() bool { return e.readAll(t, conns, int64(len(head))) })
			for _, c := range conns {
				_, err := io.WriteString(c, "0123456789")
				require.NoError(t, err)
			}
			eventually(t, "the first halves read", func() bool { return e.readAll(t, conns, int64(len(head))+10) })
			// No connection reached the upstream: an established one would be
			// waiting in the listener's queue.
			require.NoError(t, upLn.(*net.TCPListener).SetDeadline(time.Now().Add(200*time.Millisecond)))
			if c, err := upLn.Accept(); err == nil {
				c.Close()
				t.Fatal("a slow body opened an upstream connection")
			}
			require.NoError(t, upLn.(*net.TCPListener).SetDeadline(time.Time{}))

			type seen struct{ Length, Body string }
			up := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				_ = json.NewEncoder(w).Encode(seen{Length: r.Header.Get("Content-Length"), Body: string(b)})
			})}
			go func() { _ = up.Serve(upLn) }()
			defer up.Close()
			for _, c := range conns {
				_, err := io.WriteString(c, "abcdefghij")
				require.NoError(t, err)
				res, body := rawResponse(t, c)
				require.Equal(t, http.StatusOK, res.StatusCode, body)
				var got seen
				require.NoError(t, json.Unmarshal([]byte(body), &got))
				assert.Equal(t, seen{Length: "20", Body: "0123456789abcdefghij"}, got)
			}
		})
	}
}

// readAll reports whether the edge has read size bytes from each of
// conns, all that each client wrote to it: counted by the listener on
// goroutines; on event loops, which accept from the listener itself, the
// kernel's count of bytes that arrived unread, 0 (and of bytes the
// client sent unacknowledged, 0).
func (e *edge) readAll(t *testing.T, conns []net.Conn, size int64) bool {
	t.Helper()
	if e.ln != nil {
		return readAtLeast(e.ln, len(conns), size)
	}
	queues := tcpQueues(t)
	for _, c := range conns {
		client, ok := queues[tcpKey(c.LocalAddr(), c.RemoteAddr())]
		if !ok || client.tx != 0 {
			return false
		}
		server, ok := queues[tcpKey(c.RemoteAddr(), c.LocalAddr())]
		if !ok || server.rx != 0 {
			return false
		}
	}
	return true
}

// readAtLeast reports whether the last n connections accepted were each
// read for at least size bytes.
func readAtLeast(l *countingListener, n int, size int64) bool {
	cs := l.accepted()
	if len(cs) < n {
		return false
	}
	for _, c := range cs[len(cs)-n:] {
		if c.read.Load() < size {
			return false
		}
	}
	return true
}

// tcpQueue is an IPv4 TCP socket's send queue (bytes sent, not yet
// acknowledged) and receive queue (bytes arrived, not yet read).
type tcpQueue struct{ tx, rx uint64 }

// tcpQueues reads /proc/net/tcp (Linux): the queues of every IPv4 TCP
// socket of the network namespace, by tcpKey.
func tcpQueues(t *testing.T) map[string]tcpQueue {
	t.Helper()
	raw, err := os.ReadFile("/proc/net/tcp")
	require.NoError(t, err)
	queues := map[string]tcpQueue{}
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		// sl local_address rem_address st tx_queue:rx_queue ...
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		tx, rx, ok := strings.Cut(f[4], ":")
		require.True(t, ok, "a /proc/net/tcp line: %q", line)
		var q tcpQueue
		q.tx, err = strconv.ParseUint(tx, 16, 64)
		require.NoError(t, err)
		q.rx, err = strconv.ParseUint(rx, 16, 64)
		require.NoError(t, err)
		queues[f[1]+" "+f[2]] = q
	}
	return queues
}

// tcpKey names the IPv4 socket from local to remote as /proc/net/tcp
// does: each address's 4 bytes read as one native-endian integer, in
// hex, and the port in hex.
func tcpKey(local, remote net.Addr) string {
	hex := func(a net.Addr) string {
		ta := a.(*net.TCPAddr)
		return fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(ta.IP.To4()), ta.Port)
	}
	return hex(local) + " " + hex(remote)
}

// TestBufferedBodies: bodies are buffered in memory up to the buffer size,
// then in a temporary file that leaves nothing behind; the upstream gets
// them with a Content-Length whatever the client's framing. On goroutines
// and on event loops.
func TestBufferedBodies(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	tmp := t.TempDir()
	tests := []struct {
		desc string
		// noDir: the temporary directory does not exist.
		noDir      bool
		body       string
		chunked    bool
		wantStatus int
	}{
		{desc: "small, in memory", body: "hello", wantStatus: http.StatusOK},
		{desc: "small chunked, in memory", body: "hello", chunked: true, wantStatus: http.StatusOK},
		{desc: "large, in a file", body: strings.Repeat("0123456789", 10000), wantStatus: http.StatusOK},
		{desc: "large chunked, in a file", body: strings.Repeat("0123456789", 10000), chunked: true, wantStatus: http.StatusOK},
		{desc: "small, no temporary directory needed", noDir: true, body: "hello", wantStatus: http.StatusOK},
		{desc: "large, the temporary directory missing", noDir: true, body: strings.Repeat("x", 5000), wantStatus: http.StatusInternalServerError},
	}
	for _, fe := range frontends {
		e := edgeOn(t, fe.eventLoop, b.addr, proxy.Limits{BodyBufferSize: 1024, TempDir: tmp})
		missing := edgeOn(t, fe.eventLoop, b.addr, proxy.Limits{BodyBufferSize: 1024, TempDir: filepath.Join(tmp, "missing")})
		for _, tt := range tests {
			t.Run(fe.name+"/"+tt.desc, func(t *testing.T) {
				t.Parallel()
				e := e
				if tt.noDir {
					e = missing
				}
				var rd io.Reader = strings.NewReader(tt.body)
				if tt.chunked {
					rd = io.MultiReader(rd) // hides the length: sent chunked
				}
				req, err := http.NewRequest(http.MethodPost, "http://"+e.addr+"/", rd)
				require.NoError(t, err)
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				raw, err := io.ReadAll(res.Body)
				require.NoError(t, err)
				require.Equal(t, tt.wantStatus, res.StatusCode, string(raw))
				if tt.wantStatus != http.StatusOK {
					assert.Equal(t, kongPlain(res, "An unexpected error occurred"), string(raw))
					return
				}
				var got echo
				require.NoError(t, json.Unmarshal(raw, &got))
				assert.Equal(t, tt.body, got.Body)
				assert.Equal(t, fmt.Sprint(len(tt.body)), got.Header.Get("Content-Length"))
				assert.Empty(t, got.Header.Get("Transfer-Encoding"))
			})
		}
	}
	t.Cleanup(func() { // after the subtests
		left, err := os.ReadDir(tmp)
		require.NoError(t, err)
		assert.Empty(t, left, "temporary files are removed")
	})
}

// TestClientBodyFaults: a body the client gets wrong is answered as the
// client's fault, buffered or streamed: a bad chunk size is 400 (it was
// 502), a stalled body 408 after client_body_timeout, a body past
// client_max_body_size 413. On goroutines and on event loops.
func TestClientBodyFaults(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	// Only the stalled body waits for client_body_timeout, on edges of
	// its own: a timeout that short would also expire on a complete body
	// whose read waits for a CPU on a loaded machine.
	limits := proxy.Limits{BodyTimeout: time.Minute, MaxBodySize: 1000}
	stalling := proxy.Limits{BodyTimeout: 100 * time.Millisecond, MaxBodySize: 1000}
	const chunkedHead = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	tests := []struct {
		desc       string
		request    string
		wantStatus int
		wantMsg    string
		stalls     bool
	}{
		{desc: "bad chunk size", request: chunkedHead + "5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n",
			wantStatus: http.StatusBadRequest, wantMsg: "Bad request"},
		{desc: "chunk size overflowing", request: chunkedHead + "5\r\nhello\r\nffffffffffffffffff\r\n",
			wantStatus: http.StatusBadRequest, wantMsg: "Bad request"},
		{desc: "body stalled", request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab",
			wantStatus: http.StatusRequestTimeout, wantMsg: "Request timeout", stalls: true},
		{desc: "announced past the limit", request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n",
			wantStatus: http.StatusRequestEntityTooLarge, wantMsg: "Payload too large"},
		{desc: "chunked past the limit", request: chunkedHead + "7d0\r\n" + strings.Repeat("x", 2000) + "\r\n0\r\n\r\n",
			wantStatus: http.StatusRequestEntityTooLarge, wantMsg: "Payload too large"},
	}
	for _, fe := range frontends {
		buffered := edgeOn(t, fe.eventLoop, b.addr, limits)
		streamed := edgeOn(t, fe.eventLoop, b.addr, limits, unbufferedRequests)
		bufferedStall := edgeOn(t, fe.eventLoop, b.addr, stalling)
		streamedStall := edgeOn(t, fe.eventLoop, b.addr, stalling, unbufferedRequests)
		for _, mode := range []struct {
			name     string
			e, stall *edge
		}{{"buffered", buffered, bufferedStall}, {"streamed", streamed, streamedStall}} {
			for _, tt := range tests {
				t.Run(fe.name+"/"+mode.name+"/"+tt.desc, func(t *testing.T) {
					t.Parallel()
					e := mode.e
					if tt.stalls {
						e = mode.stall
					}
					conn, err := net.Dial("tcp", e.addr)
					require.NoError(t, err)
					defer conn.Close()
					_, err = io.WriteString(conn, tt.request)
					require.NoError(t, err)
					res, body := rawResponse(t, conn)
					assert.Equal(t, tt.wantStatus, res.StatusCode, body)
					// kong/error_handlers.lua: text/plain by default.
					assert.Equal(t, kongPlain(res, tt.wantMsg), body)
					assert.True(t, res.Close, "the connection is closed")
				})
			}
		}
		t.Run(fe.name+"/buffered bodies never reach the upstream", func(t *testing.T) {
			t.Parallel()
			// Every buffered case above was refused before the upstream was
			// contacted; the streamed ones may have reached it.
			conn, err := net.Dial("tcp", buffered.addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, chunkedHead+"zz\r\n")
			require.NoError(t, err)
			res, _ := rawResponse(t, conn)
			require.Equal(t, http.StatusBadRequest, res.StatusCode)
		})
	}
}

// TestStreamedBodyReachesUpstreamEarly: with request_buffering off the
// body is streamed: the upstream reads its start while the client is
// still sending. On goroutines and on event loops.
func TestStreamedBodyReachesUpstreamEarly(t *testing.T) {
	t.Parallel()
	for _, fe := range frontends {
		t.Run(fe.name, func(t *testing.T) {
			t.Parallel()
			first := make(chan string, 1)
			b := newBackend(t, "b", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				line, err := bufio.NewReader(r.Body).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return
				}
				first <- line
				_, _ = io.Copy(io.Discard, r.Body)
			}))
			e := edgeOn(t, fe.eventLoop, b.addr, proxy.Limits{}, unbufferedRequests)
			conn, err := net.Dial("tcp", e.addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nfirst line\n")
			require.NoError(t, err)
			select {
			case line := <-first:
				assert.Equal(t, "first line\n", line)
			case <-time.After(time.Minute):
				t.Fatal("the body was held back")
			}
		})
	}
}
