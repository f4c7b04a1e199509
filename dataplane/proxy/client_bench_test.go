package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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
			req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9080/api/items/42", nil)
			// As a service's client is made (service.h1): its address is
			// the client's home.
			c.setHome(req.URL.Host)
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

// answeringConn is an upstream connection in memory that answers res
// once a request's last bytes (end) were written; reads wait for it, as
// http.Transport's reader does on an idle connection.
type answeringConn struct {
	net.Conn
	res, end string
	mu       sync.Mutex
	cond     sync.Cond
	tail     []byte
	pending  string
	closed   bool
}

func newAnsweringConn(res, end string) *answeringConn {
	c := &answeringConn{res: res, end: end, tail: make([]byte, 0, 256)}
	c.cond.L = &c.mu
	return c
}

func (c *answeringConn) Write(b []byte) (int, error) {
	n := len(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tail)+len(b) > cap(c.tail) {
		keep := c.tail[max(0, len(c.tail)-len(c.end)):]
		c.tail = append(c.tail[:0], keep...)
		if len(b) > len(c.end) {
			b = b[len(b)-len(c.end):]
		}
	}
	c.tail = append(c.tail, b...)
	if strings.HasSuffix(string(c.tail), c.end) {
		c.tail = c.tail[:0]
		c.pending = c.res
		c.cond.Broadcast()
	}
	return n, nil
}

func (c *answeringConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.pending == "" && !c.closed {
		c.cond.Wait()
	}
	if c.closed {
		return 0, io.EOF
	}
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *answeringConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	return nil
}

func (c *answeringConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
}
func (c *answeringConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2}
}
func (c *answeringConn) SetDeadline(time.Time) error      { return nil }
func (c *answeringConn) SetReadDeadline(time.Time) error  { return nil }
func (c *answeringConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkUpstreamPost measures one POST with a 1 KiB body on a pooled
// in-memory connection, through the upstream client and through
// http.Transport (configured as newTransport does, the path such requests
// took before the client sent bodies): a body buffered in memory
// (request_buffering, sent with a Content-Length) and one streamed
// (request_buffering off, chunked).
func BenchmarkUpstreamPost(b *testing.B) {
	const res = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nDate: Fri, 27 Nov 2026 16:00:00 GMT\r\nContent-Length: 2\r\n\r\n{}"
	payload := []byte(strings.Repeat("x", 1023) + "$")
	for _, tc := range []struct {
		name     string
		streamed bool
	}{{"buffered", false}, {"streamed", true}} {
		end := "$"
		if tc.streamed {
			end = "$\r\n0\r\n\r\n"
		}
		for _, client := range []string{"h1client", "transport"} {
			b.Run(tc.name+"/"+client, func(b *testing.B) {
				conn := newAnsweringConn(res, end)
				dial := func(context.Context, string, string) (net.Conn, error) { return conn, nil }
				var rt http.RoundTripper
				if client == "h1client" {
					rt = newH1Client("http", func(ctx context.Context, n, a string) (net.Conn, error) {
						c, _ := dial(ctx, n, a)
						return &timeoutConn{Conn: c, read: time.Minute, write: time.Minute}, nil
					})
				} else {
					rt = &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
						DisableCompression: true}
				}
				header := http.Header{"User-Agent": {"wrk"}, "Accept": {"*/*"}, "Content-Type": {"application/json"},
					"X-Forwarded-For": {"127.0.0.1"}, "X-Forwarded-Proto": {"http"}, "X-Forwarded-Host": {"localhost"},
					"Via": {"1.1 skyport/bench"}}
				buf := make([]byte, 4096)
				b.ReportAllocs()
				cpu0 := cputime.Process()
				req := httptest.NewRequest(http.MethodPost, "http://upstream.test/api/items", nil)
				req.Header = header
				for b.Loop() {
					if tc.streamed {
						req.Body = &onceBody{rc: io.NopCloser(bytes.NewReader(payload))}
						req.ContentLength = -1
					} else {
						req.Body = &onceBody{rc: &memBody{b: payload}}
						req.ContentLength = int64(len(payload))
					}
					res, err := rt.RoundTrip(req)
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
				cputime.Report(b, cpu0, b.N)
			})
		}
	}
}

// BenchmarkIdleCheck measures the look at an idle https connection before
// a request that cannot be resent reuses it: the socket peek alone (what
// a plain-HTTP connection gets) and with the read through crypto/tls.
func BenchmarkIdleCheck(b *testing.B) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	raw, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	tc := &timeoutConn{Conn: raw, read: time.Minute, write: time.Minute}
	conn := tls.Client(tc, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a test server
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"peek", "tls"} {
		b.Run(name, func(b *testing.B) {
			pc := &h1Conn{conn: conn, tc: tc, raw: raw}
			if name == "peek" {
				pc.conn = raw
			}
			cpu0 := cputime.Process()
			for b.Loop() {
				if !pc.untouched() {
					b.Fatal("an idle connection found touched")
				}
			}
			cputime.Report(b, cpu0, b.N)
		})
	}
}
