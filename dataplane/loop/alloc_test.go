//go:build linux

package loop_test

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/loop"
)

// okBody is the answer of the allocation tests' handlers.
var okBody = []byte("ok")

// abortNothing is an h1.Aborter that needs nothing done.
type abortNothing struct{}

func (abortNothing) Abort(error) {}

// serveH1 serves srv on one loop of a loopback listener and returns a
// kept-alive client connection to it, which has been answered once, and
// the length of srv's (fixed-length) answer.
func serveH1(tb testing.TB, srv *h1.Server, req string) (net.Conn, int) {
	tb.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	g, err := loop.Serve(ln, 1, func(c *loop.Conn) { srv.ServeConn(c) })
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = g.Close()
		_ = srv.Close()
		ln.Close()
		g.Wait()
	})
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.WriteString(c, req); err != nil {
		tb.Fatal(err)
	}
	var res []byte
	buf := make([]byte, 512)
	for !bytes.HasSuffix(res, []byte("\r\n\r\nok")) {
		n, err := c.Read(buf)
		if err != nil {
			tb.Fatalf("first answer %q: %v", res, err)
		}
		res = append(res, buf[:n]...)
	}
	return c, len(res)
}

// A request served by h1 on a loop, with the client-abort watch armed
// (Request.OnAbort: the proxy's native path) allocates nothing: the
// watch is a number (WatchClose, StopWatch), not a closure per request.
// AllocsPerRun counts the whole process's allocations, the loop's
// included.
func TestH1OnLoopAllocs(t *testing.T) {
	srv := &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		r.OnAbort(abortNothing{})
		_, _ = w.Write(okBody)
	})}
	const req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	c, n := serveH1(t, srv, req)
	buf, reqb := make([]byte, n), []byte(req)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := c.Write(reqb); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request on the loop, want 0", allocs)
	}
}

// BenchmarkH1OnLoop: a kept-alive request served by h1 on a loop with the
// client-abort watch armed, the client in the benchmark's goroutine.
func BenchmarkH1OnLoop(b *testing.B) {
	srv := &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		r.OnAbort(abortNothing{})
		_, _ = w.Write(okBody)
	})}
	const req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	c, n := serveH1(b, srv, req)
	if err := c.SetDeadline(time.Time{}); err != nil {
		b.Fatal(err)
	}
	buf, reqb := make([]byte, n), []byte(req)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(reqb); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOf: what the proxy's native path asks per request to know the
// loop serving its client (a type comparison and a load).
func BenchmarkOf(b *testing.B) {
	conns := make(chan *loop.Conn, 1)
	release := make(chan struct{})
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	g, err := loop.Serve(ln, 1, func(c *loop.Conn) {
		defer c.Close()
		conns <- c
		// Parked until the benchmark ends: the Conn stays the loop's.
		_, _ = c.Read(make([]byte, 1))
	})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		close(release)
		_ = g.Close()
		g.Wait()
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	var nc net.Conn = <-conns
	go func() {
		<-release
		client.Close()
	}()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := loop.Of(nc); !ok {
			b.Fatal("not the loop's")
		}
	}
}
