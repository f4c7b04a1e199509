package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/internal/cputime"
)

// cannedConn is an upstream connection in memory: every request written
// to it is answered with res. Deadlines cost nothing on it.
type cannedConn struct {
	net.Conn
	res     string
	pending string
}

func (c *cannedConn) Write(b []byte) (int, error) { c.pending = c.res; return len(b), nil }
func (c *cannedConn) Read(b []byte) (int, error) {
	if c.pending == "" {
		return 0, io.EOF
	}
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}
func (c *cannedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cannedConn) SetWriteDeadline(time.Time) error { return nil }
func (c *cannedConn) Close() error                     { return nil }

// BenchmarkUpstreamExchange measures the upstream client's own work for
// one request on a pooled connection: writing the request head, reading
// the response head and a small body, returning the connection; no
// system calls (the connection is in memory).
func BenchmarkUpstreamExchange(b *testing.B) {
	for _, tc := range []struct{ name, res string }{
		{"length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Fri, 27 Nov 2026 16:00:00 GMT\r\nContent-Length: 2\r\n\r\nok"},
		{"chunked", "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Fri, 27 Nov 2026 16:00:00 GMT\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			conn := &timeoutConn{Conn: &cannedConn{res: tc.res}, read: time.Minute, write: time.Minute}
			c := newH1Client("http", func(context.Context, string, string) (net.Conn, error) { return conn, nil })
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8000/api/items/42", nil)
			req.Header = http.Header{"User-Agent": {"wrk"}, "Accept": {"*/*"}, "X-Forwarded-For": {"127.0.0.1"},
				"X-Forwarded-Proto": {"http"}, "X-Forwarded-Host": {"localhost"}, "Via": {"1.1 skyport/bench"}}
			buf := make([]byte, 4096)
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for b.Loop() {
				res, err := c.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := res.Body.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				res.Body.Close()
			}
			// CPU time, not wall time, the figure a loaded machine
			// leaves readable (the process's, GC included).
			cputime.Report(b, cpu0, b.N)
		})
	}
}
