package proxy_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/cputime"
	"github.com/skyport-gw/skyport/internal/model"
)

// BenchmarkProxyH1 measures one request through a Frontend, as wrk sends
// it, on a kept-alive loopback connection to an upstream that answers
// every request with the same bytes: h1, the proxy and the upstream
// client, with the system calls of both connections. The client and the
// upstream are raw loops, so that nearly all allocations and most of the
// CPU time (cpu-ns/op, the process's) are the proxy's. path=native is
// Frontend(nil), whose requests take the native path; path=adapter wraps
// the proxy in another handler, which makes the Frontend adapt every
// request to *http.Request.
func BenchmarkProxyH1(b *testing.B) {
	px, _ := benchProxyH1(b)
	for _, path := range []struct {
		name string
		h    http.Handler
	}{{"native", nil}, {"adapter", http.HandlerFunc(px.ServeHTTP)}} {
		b.Run("path="+path.name, func(b *testing.B) {
			benchFrontend(b, px.Frontend(path.h), "")
		})
	}
}

// benchFrontend serves f on a loopback listener and measures wrk's GET
// of /api/items/42, with the extra header lines given ("name: value\r\n"
// each), on one kept-alive connection: allocations and the process's CPU
// per request (cpu-ns/op).
func benchFrontend(b *testing.B, f *proxy.Frontend, extra string) {
	benchServer(b, f, extra)
}

// server is what benchServer measures: a Frontend or an h1.Server.
type server interface {
	Serve(net.Listener) error
	Close() error
}

// benchServer is benchFrontend for any server.
func benchServer(b *testing.B, f server, extra string) {
	c := dialBench(b, listenBench(b, f), extra)
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		c.do(b)
	}
	cputime.Report(b, cpu, b.N)
}

// listenBench serves f on a loopback listener until b ends; it returns
// the listener's address.
func listenBench(b *testing.B, f server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = f.Serve(ln) }()
	b.Cleanup(func() { f.Close() })
	return ln.Addr().String()
}

// benchClient sends wrk's request on one kept-alive connection.
type benchClient struct {
	conn net.Conn
	br   *bufio.Reader
	req  []byte
}

// dialBench connects to addr; the connection is closed when b ends. The
// request carries the extra header lines given.
func dialBench(b *testing.B, addr, extra string) *benchClient {
	conn := dialRaw(b, addr)
	req := []byte("GET /api/items/42 HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: wrk\r\nAccept: */*\r\n" + extra + "\r\n")
	return &benchClient{conn: conn, br: bufio.NewReader(conn), req: req}
}

// dialRaw connects to addr; the connection is closed when b ends.
func dialRaw(b *testing.B, addr string) net.Conn {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return conn
}

// do sends the request and reads its response.
func (c *benchClient) do(b *testing.B) {
	if _, err := c.conn.Write(c.req); err != nil {
		b.Fatal(err)
	}
	if err := readResponse(c.br); err != nil {
		b.Fatal(err)
	}
}

// readResponse reads a 200 response with a Content-Length from br.
func readResponse(br *bufio.Reader) error {
	n := -1
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if first && !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
			return &net.AddrError{Err: "status line " + string(line)}
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
		if len(line) <= 2 {
			break
		}
	}
	if n < 0 {
		return io.ErrUnexpectedEOF
	}
	_, err := br.Discard(n)
	return err
}

// cannedUpstream serves res to every request head (a request without a
// body) on its connections; it returns its address.
func cannedUpstream(b *testing.B, res string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := io.WriteString(c, res); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// benchProxyH1 is BenchmarkProxyH1's proxy (one route, no plugins, the
// latency headers and request id on) in front of an upstream answering
// canned bytes at upAddr; it is closed when b ends.
func benchProxyH1(b *testing.B) (px *proxy.Server, upAddr string) {
	b.Helper()
	const res = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Date: Fri, 27 Nov 2026 16:00:00 GMT\r\nContent-Length: 2\r\n\r\nok"
	upAddr = cannedUpstream(b, res)
	host, p, _ := net.SplitHostPort(upAddr)
	port, _ := strconv.Atoi(p)
	cfg := &model.Config{Services: []*model.Service{service("s", host, port, "")},
		Routes: []*model.Route{route("r", "s", "/api")}}
	px = proxy.New(proxy.Options{Version: "bench", LatencyHeaders: true, RequestID: true})
	if err := px.Apply(b.Context(), cfg, 1, "bench"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { px.Close() })
	return px, upAddr
}
