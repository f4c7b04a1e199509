//go:build linux

package loop

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func withAccept(fn acceptFunc) Option { return func(c *config) { c.accept = fn } }

func withPause(lo, hi time.Duration) Option {
	return func(c *config) { c.pauseMin, c.pauseMax = lo, hi }
}

// recordHandler sends the records logged on a channel (dropping them when
// it is full).
type recordHandler struct{ records chan slog.Record }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.records <- r.Clone():
	default:
	}
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

func attr(r slog.Record, key string) slog.Value {
	var v slog.Value
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value
			return false
		}
		return true
	})
	return v
}

func echoConn(c *Conn) {
	defer c.Close()
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// serveFailing serves echoConn on one loop of a loopback listener whose
// accepts fail with EMFILE while fail says so (each failure counted in
// failures, the first signalled on first).
func serveFailing(t *testing.T, fail func() bool, failures *atomic.Int64, first chan struct{}, opts ...Option) (*net.TCPListener, *Group) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	accept := func(fd int) (int, unix.Sockaddr, error) {
		if fail() {
			if failures.Add(1) == 1 {
				close(first)
			}
			return -1, nil, unix.EMFILE
		}
		return accept4(fd)
	}
	g, err := Serve(ln, 1, echoConn, append(opts, withAccept(accept))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = g.Close()
		_ = ln.Close()
		waitGroup(t, g)
	})
	return ln, g
}

func waitGroup(t *testing.T, g *Group) {
	t.Helper()
	done := make(chan struct{})
	go func() { g.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the loops did not exit")
	}
}

func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("echo of %q: %v", msg, err)
	}
	if string(got) != msg {
		t.Fatalf("echoed %q, want %q", got, msg)
	}
}

func dialTCP(t *testing.T, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestAcceptFailurePauses: an accept failing with EMFILE leaves the
// (level-triggered) listener readable; the loop takes it out of its epoll
// set for the pause instead of trying again on every wake-up, serves its
// connections meanwhile, logs the failure, and exits when its group
// closes during the pause. Every round trip of the served connection goes
// through epoll_wait, which reports a listener still in the set: without
// the pause each would fail one more accept.
func TestAcceptFailurePauses(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	var failures atomic.Int64
	first := make(chan struct{})
	records := make(chan slog.Record, 16)
	ln, g := serveFailing(t, failing.Load, &failures, first,
		WithLog(slog.New(recordHandler{records})), withPause(time.Hour, time.Hour))
	served := dialTCP(t, ln.Addr())
	roundTrip(t, served, "before")
	failing.Store(true)
	// Waits in the backlog: the listener stays readable.
	dialTCP(t, ln.Addr())
	select {
	case <-first:
	case <-time.After(time.Minute):
		t.Fatal("the loop never tried to accept the waiting connection")
	}
	for i := range 3 {
		roundTrip(t, served, string(rune('a'+i)))
	}
	if n := failures.Load(); n != 1 {
		t.Errorf("%d failed accepts during the pause, want 1", n)
	}
	select {
	case r := <-records:
		err, _ := attr(r, "error").Any().(error)
		if !errors.Is(err, unix.EMFILE) {
			t.Errorf("logged error %v, want EMFILE", attr(r, "error"))
		}
		if got := attr(r, "pause").Duration(); got != time.Hour {
			t.Errorf("logged pause %v, want 1h", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("the failure was not logged")
	}
	// The group closes during the pause: the loop exits once its
	// connection ends.
	_ = g.Close()
	served.Close()
	waitGroup(t, g)
}

// TestAcceptResumes: once the pause ends the listener is back and the
// connection that waited is accepted and served; pauses double while
// accepts keep failing.
func TestAcceptResumes(t *testing.T) {
	t.Parallel()
	var failures atomic.Int64
	first := make(chan struct{})
	records := make(chan slog.Record, 16)
	const fails = 4
	ln, _ := serveFailing(t, func() bool { return failures.Load() < fails }, &failures, first,
		WithLog(slog.New(recordHandler{records})), withPause(time.Millisecond, 4*time.Millisecond))
	c := dialTCP(t, ln.Addr())
	roundTrip(t, c, "after the pauses")
	if n := failures.Load(); n != fails {
		t.Errorf("%d failed accepts, want %d", n, fails)
	}
	select {
	case r := <-records:
		if got := attr(r, "pause").Duration(); got != time.Millisecond {
			t.Errorf("first pause logged %v, want 1ms", got)
		}
	case <-time.After(time.Minute):
		t.Fatal("the failure was not logged")
	}
}

// TestAcceptKeepAlive: a connection a loop accepts has TCP keep-alive on,
// with the idle time, interval and probe count Go's listeners give the
// connections they accept.
func TestAcceptKeepAlive(t *testing.T) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	type opts struct{ on, idle, intvl, cnt int }
	got := make(chan opts, 1)
	g, err := Serve(ln, 1, func(c *Conn) {
		defer c.Close()
		var o opts
		o.on, _ = unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		o.idle, _ = unix.GetsockoptInt(c.fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
		o.intvl, _ = unix.GetsockoptInt(c.fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL)
		o.cnt, _ = unix.GetsockoptInt(c.fd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT)
		got <- o
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = g.Close()
		_ = ln.Close()
		waitGroup(t, g)
	})
	dialTCP(t, ln.Addr())
	select {
	case o := <-got:
		if want := (opts{1, keepAliveIdle, keepAliveInterval, keepAliveCount}); o != want {
			t.Fatalf("keep-alive options %+v, want %+v", o, want)
		}
	case <-time.After(time.Minute):
		t.Fatal("the connection was not served")
	}
}
