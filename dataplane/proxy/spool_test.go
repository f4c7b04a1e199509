package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// pattern is n bytes that are not all alike, so that misordered pieces
// would show.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// slowClient connects to addr with a tiny receive buffer, so that the
// kernel holds little of what the proxy sends it.
func slowClient(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestBufferedResponses: on a route with response_buffering (the
// default) the upstream sends its whole response and is done while the
// client has not read it; the client then gets it intact, and the
// temporary file is gone. With a file bound smaller than the response the
// upstream is read at the client's pace past the bound, and the response
// still arrives intact. On goroutines and on event loops.
func TestBufferedResponses(t *testing.T) {
	t.Parallel()
	const size = 16 << 20
	body := pattern(size)
	tests := []struct {
		desc string
		// fileSize bounds the temporary file; 0 keeps the default.
		fileSize int64
		// released says the upstream finishes before the client reads.
		released bool
	}{
		{desc: "the upstream is released before the client reads", released: true},
		{desc: "past the file bound, read at the client's pace", fileSize: 1 << 20},
	}
	for _, fe := range frontends {
		for _, tt := range tests {
			t.Run(fe.name+"/"+tt.desc, func(t *testing.T) {
				t.Parallel()
				done := make(chan struct{})
				b := newBackend(t, "big", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					defer close(done)
					w.Header().Set("Content-Type", "application/octet-stream")
					_, _ = w.Write(body)
				}))
				tmp := t.TempDir()
				e := edgeOn(t, fe.eventLoop, b.addr, proxy.Limits{TempDir: tmp, ResponseTempFileSize: tt.fileSize})
				conn := slowClient(t, e.addr)
				_, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				require.NoError(t, err)
				if tt.released {
					select {
					case <-done:
					case <-time.After(time.Minute):
						t.Fatal("the upstream waited for the client")
					}
				}
				require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
				res, err := http.ReadResponse(bufio.NewReader(conn), nil)
				require.NoError(t, err)
				got, err := io.ReadAll(res.Body)
				require.NoError(t, err)
				require.Equal(t, size, len(got))
				require.Equal(t, sha256.Sum256(body), sha256.Sum256(got), "the response arrived intact")
				waitClosed(t, done, "the upstream's handler to end")
				eventually(t, "the temporary file closed", func() bool {
					left, err := os.ReadDir(tmp)
					return err == nil && len(left) == 0 && openFilesUnder(t, tmp) == 0
				})
			})
		}
	}
}

// openFilesUnder counts this process's open files whose (removed) path
// was under dir.
func openFilesUnder(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if err == nil && bytes.HasPrefix([]byte(target), []byte(dir+"/")) {
			n++
		}
	}
	return n
}

// TestBufferedResponseTrailersAndStreams: buffered responses keep their
// trailers and what a streaming upstream sent reaches the client before
// the upstream is done. On goroutines and on event loops.
func TestBufferedResponseTrailersAndStreams(t *testing.T) {
	t.Parallel()
	for _, fe := range frontends {
		t.Run(fe.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			b := newBackend(t, "b", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Trailer", "X-Sum")
				w.Header().Set("Content-Type", "text/plain")
				_, _ = io.WriteString(w, "part 1\n")
				w.(http.Flusher).Flush()
				if r.URL.Path == "/stream" {
					<-release
				}
				_, _ = io.WriteString(w, "part 2\n")
				w.Header().Set("X-Sum", "42")
			}))
			for _, buffering := range []bool{true, false} {
				e := edgeOn(t, fe.eventLoop, b.addr, proxy.Limits{}, func(r *model.Route) { r.ResponseBuffering = buffering })
				res, err := http.Get("http://" + e.addr + "/trailers")
				require.NoError(t, err)
				got, err := io.ReadAll(res.Body)
				res.Body.Close()
				require.NoError(t, err)
				assert.Equal(t, "part 1\npart 2\n", string(got))
				assert.Equal(t, "42", res.Trailer.Get("X-Sum"), "buffering %v", buffering)
			}
			// A streaming upstream streams on a route that buffers, on
			// an event loop too (loopSpool).
			e := edgeOn(t, fe.eventLoop, b.addr, proxy.Limits{})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.addr+"/stream", nil)
			require.NoError(t, err)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			line, err := bufio.NewReader(res.Body).ReadString('\n')
			require.NoError(t, err, "the first part arrives while the upstream waits")
			assert.Equal(t, "part 1\n", line)
			close(release)
		})
	}
}
