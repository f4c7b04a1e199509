package h1

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/internal/cputime"
)

// loopConn replays one request forever and discards what is written.
type loopConn struct {
	req []byte
	off int
	n   int64
}

func (l *loopConn) Read(p []byte) (int, error) {
	n := copy(p, l.req[l.off:])
	l.off = (l.off + n) % len(l.req)
	return n, nil
}

func (l *loopConn) Write(p []byte) (int, error)      { l.n += int64(len(p)); return len(p), nil }
func (l *loopConn) Close() error                     { return nil }
func (l *loopConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (l *loopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (l *loopConn) SetDeadline(time.Time) error      { return nil }
func (l *loopConn) SetReadDeadline(time.Time) error  { return nil }
func (l *loopConn) SetWriteDeadline(time.Time) error { return nil }

// nopAborter hears of nothing.
type nopAborter struct{}

func (nopAborter) Abort(error) {}

// BenchmarkServe is the server's cost per request on a kept-alive
// connection: the head read and parsed, the handler's header lookups,
// the response head and body written. The connection is in memory, so
// this is the server alone, without syscalls; cpu-ns/op is the CPU time
// per request, the figure that holds on a loaded machine.
func BenchmarkServe(b *testing.B) {
	for _, bb := range []struct {
		name string
		req  string
		ctx  bool
		// abort registers an Aborter, as the proxy's native path does.
		abort bool
	}{
		{"wrk", "GET / HTTP/1.1\r\nHost: 127.0.0.1:9080\r\n\r\n", false, false},
		// The proxy's adapter asks for every request's context, which arms
		// the watch for the client going away.
		{"wrk+context", "GET / HTTP/1.1\r\nHost: 127.0.0.1:9080\r\n\r\n", true, false},
		// The native path registers itself to hear of the client going
		// away (OnAbort), which arms the same watch.
		{"wrk+abort", "GET / HTTP/1.1\r\nHost: 127.0.0.1:9080\r\n\r\n", false, true},
		{"browser", "GET /api/v1/items?page=2&limit=50 HTTP/1.1\r\nHost: api.example.com\r\n" +
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n" +
			"Accept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n" +
			"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U\r\n" +
			"Cookie: session=abcdef0123456789; theme=dark\r\nX-Request-Id: 7f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b\r\n\r\n", false, false},
		{"post", "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"name\":\"skyport\",\"n\":1234}", false, false},
	} {
		b.Run(bb.name, func(b *testing.B) {
			s := &Server{Handler: HandlerFunc(func(w *Response, r *Request) {
				if bb.ctx {
					_ = r.Context()
				}
				if bb.abort {
					r.OnAbort(nopAborter{})
				}
				_ = r.Header().Get("x-request-id")
				_, _ = io.Copy(io.Discard, r.Body())
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Server", "skyport")
				_, _ = w.WriteString("hello from the upstream\n")
			})}
			s.init()
			lc := &loopConn{req: []byte(bb.req)}
			c := s.connPool.Get().(*conn)
			c.init(s, lc)
			b.SetBytes(int64(len(bb.req)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cputime.Process()
			for range b.N {
				if err := c.readRequest(false); err != nil {
					b.Fatal(err)
				}
				c.handle()
			}
			cputime.Report(b, cpu, b.N)
		})
	}
}
