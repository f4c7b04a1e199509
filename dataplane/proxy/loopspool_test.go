package proxy_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/loop"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

// countedUpstream is an HTTP server on a free port that counts the
// connections it accepted.
type countedUpstream struct {
	addr  string
	conns atomic.Int32
}

func newCountedUpstream(t *testing.T, h http.Handler) *countedUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := &countedUpstream{addr: ln.Addr().String()}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				u.conns.Add(1)
			}
		}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return u
}

// loopEdge is a proxy with event loops on and one route to addr, served on
// a plain TCP listener; onLoop receives, each time a client connection
// waits for a request, whether a loop serves it.
func loopEdge(t *testing.T, addr string, limits proxy.Limits, buffering bool) (front *proxytest.Server, onLoop chan bool) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	p, err := net.LookupPort("tcp", port)
	require.NoError(t, err)
	px := proxy.New(proxy.Options{Version: "test", Log: slog.New(slog.DiscardHandler), EventLoop: "on",
		RetireTimeout: 5 * time.Second, Limits: limits})
	r := route("r", "s", "/")
	r.ResponseBuffering = buffering
	cfg := &model.Config{Services: []*model.Service{service("s", host, p, "")}, Routes: []*model.Route{r}}
	require.NoError(t, px.Apply(context.Background(), cfg, 1, "test"))
	f := px.Frontend(nil)
	onLoop = make(chan bool, 8)
	f.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateIdle {
			_, ok := loop.Of(c)
			onLoop <- ok
		}
	}
	front = proxytest.New(t, f)
	t.Cleanup(func() {
		// The proxy first: its idle upstream connections are closed
		// while their loops run.
		px.Close()
		front.Close()
	})
	return front, onLoop
}

// TestLoopBufferedResponses: on an event loop a route with
// response_buffering still has the upstream send its whole response and
// be done while a slow client has read none of it; the upstream
// connection then goes back to the loop's pool (the next request reuses
// it). The client gets the body intact, through memory, the temporary
// file (closed after), or past the file's bound (or without a file) at
// its own pace.
func TestLoopBufferedResponses(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Log("event loops run on Linux only")
		return
	}
	tests := []struct {
		desc string
		size int
		// fileSize bounds the temporary file; 0 keeps the default.
		fileSize int64
		// noDir: the temporary directory does not exist.
		noDir bool
		// released: the upstream is done before the client reads.
		released bool
	}{
		{desc: "in memory", size: 20 << 10, released: true},
		{desc: "through the temporary file", size: 16 << 20, released: true},
		{desc: "past the file bound, at the client's pace", size: 8 << 20, fileSize: 1 << 20},
		{desc: "no temporary file, at the client's pace", size: 8 << 20, noDir: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			body := pattern(tt.size)
			done := make(chan struct{}, 2)
			up := newCountedUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				defer func() { done <- struct{}{} }()
				w.Header().Set("Content-Type", "application/octet-stream")
				// Two writes: the body does not arrive in one read.
				half := len(body) / 2
				_, _ = w.Write(body[:half])
				w.(http.Flusher).Flush()
				_, _ = w.Write(body[half:])
			}))
			tmp := t.TempDir()
			if tt.noDir {
				tmp = filepath.Join(tmp, "missing")
			}
			front, onLoop := loopEdge(t, up.addr, proxy.Limits{TempDir: tmp, ResponseTempFileSize: tt.fileSize}, true)
			conn := slowClient(t, strings.TrimPrefix(front.URL, "http://"))
			require.NoError(t, conn.SetDeadline(time.Now().Add(60*time.Second)))
			require.True(t, <-onLoop, "the client connection is a loop's")
			br := bufio.NewReader(conn)
			for i := range 2 {
				_, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				require.NoError(t, err)
				if tt.released {
					select {
					case <-done:
					case <-time.After(20 * time.Second):
						t.Fatalf("request %d: the upstream waited for the client", i)
					}
				}
				res, err := http.ReadResponse(br, nil)
				require.NoError(t, err)
				got, err := io.ReadAll(res.Body)
				require.NoError(t, err)
				require.Equal(t, len(body), len(got))
				require.Equal(t, sha256.Sum256(body), sha256.Sum256(got), "the response arrived intact")
				if !tt.released {
					<-done
				}
				require.True(t, <-onLoop, "the client connection stays a loop's")
			}
			assert.Equal(t, int32(1), up.conns.Load(), "the second request reused the upstream connection")
			if !tt.noDir {
				eventually(t, "the temporary file closed", func() bool {
					left, err := os.ReadDir(tmp)
					return err == nil && len(left) == 0 && openFilesUnder(t, tmp) == 0
				})
			}
		})
	}
}

// TestLoopStreams: on an event loop an event stream reaches the client
// while the upstream waits, on a route that buffers responses (an event
// stream is not spooled on a loop) and on one that does not; a chunked
// body streams too, on a route that does not buffer and on one that does
// (loopSpool hands over what arrived when the upstream would wait).
func TestLoopStreams(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Log("event loops run on Linux only")
		return
	}
	tests := []struct {
		desc, contentType string
		buffering         bool
	}{
		{"event stream, buffered route", "text/event-stream", true},
		{"event stream, unbuffered route", "text/event-stream; charset=utf-8", false},
		{"chunked text, unbuffered route", "text/plain", false},
		{"chunked text, buffered route", "text/plain", true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			up := newCountedUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				_, _ = io.WriteString(w, "data: 1\n\n")
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				_, _ = io.WriteString(w, "data: 2\n\n")
			}))
			front, onLoop := loopEdge(t, up.addr, proxy.Limits{}, tt.buffering)
			conn, err := net.Dial("tcp", strings.TrimPrefix(front.URL, "http://"))
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
			require.True(t, <-onLoop, "the client connection is a loop's")
			_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			require.NoError(t, err)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			line, err := br.ReadString('\n')
			require.NoError(t, err, "the first event arrives while the upstream waits")
			assert.Equal(t, "data: 1\n", line)
			close(release)
			rest, err := io.ReadAll(br)
			require.NoError(t, err)
			assert.Equal(t, "\ndata: 2\n\n", string(rest))
		})
	}
}
