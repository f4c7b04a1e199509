//go:build linux

package loop

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// errPeerClosed is what WatchClose's fn gets when the peer hung up.
var errPeerClosed = io.EOF

// Conn is a TCP connection driven by a Loop; see the package doc for
// which goroutines may call what.
type Conn struct {
	l *Loop
	// fd is the descriptor, -1 once the loop closed it. The loop's
	// goroutine (and the tasks it runs) alone touch it and the fields
	// below up to the atomics.
	fd int
	// readable and writable remember the last edge: a Read with
	// readable clear parks without a system call.
	readable, writable, hup bool
	waiter                  *task
	waitWrite               bool
	rtimer, wtimer          timerSlot
	watch                   func(error)
	watchGen                uint64

	rdl, wdl atomic.Int64
	closed   atomic.Bool
	// parkedFlag says a task waits on c, for the goroutines that move
	// its deadlines.
	parkedFlag atomic.Bool
	// detached holds the net.Conn every method forwards to after
	// Detach.
	detached atomic.Pointer[net.Conn]

	// remote and local are set before the task (or the dialing task's
	// caller) has the Conn, and never change: any goroutine reads them,
	// after the loop closed the descriptor too.
	remote, local *net.TCPAddr
}

var _ net.Conn = (*Conn)(nil)

// Of returns the loop serving c when c is a *Conn not detached.
func Of(c net.Conn) (*Loop, bool) {
	lc, ok := c.(*Conn)
	if !ok || lc.detached.Load() != nil {
		return nil, false
	}
	return lc.l, true
}

func (c *Conn) opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Read reads into p, parking the task until bytes, EOF, an error, the
// read deadline or Close.
func (c *Conn) Read(p []byte) (int, error) {
	if d := c.detached.Load(); d != nil {
		return (*d).Read(p)
	}
	for {
		if c.closed.Load() {
			return 0, c.opErr("read", net.ErrClosed)
		}
		dl := c.rdl.Load()
		if dl != 0 && dl <= monoNow() {
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		}
		if len(p) == 0 {
			return 0, nil
		}
		if c.readable {
			n, err := rawRead(c.fd, p)
			switch {
			case err == nil && n == 0:
				return 0, io.EOF
			case err == nil:
				// A short read emptied the socket: the next bytes
				// come with an edge. After the peer's FIN, which came
				// with the last edge there is, the next read finds
				// EOF.
				if n < len(p) && !c.hup {
					c.readable = false
				}
				return n, nil
			case err == unix.EINTR:
				continue
			case err != unix.EAGAIN:
				return 0, c.opErr("read", os.NewSyscallError("read", err))
			}
			c.readable = false
		}
		if err := c.l.park(c, false, dl); err != nil {
			return 0, c.opErr("read", err)
		}
	}
}

// ReadReady reports, for the connection's own task, whether a Read would
// return without parking: bytes are in the socket, or its end, an error,
// the read deadline or Close. It makes no system call unless the last
// edge left the connection readable; then a one-byte peek tells whether
// that edge's bytes are all read (and a Read would park). A detached
// connection cannot tell: false.
func (c *Conn) ReadReady() bool {
	if c.detached.Load() != nil {
		return false
	}
	if c.closed.Load() || c.hup {
		return true
	}
	if dl := c.rdl.Load(); dl != 0 && dl <= monoNow() {
		return true
	}
	if !c.readable {
		return false
	}
	for {
		switch err := rawPeek(c.fd); err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			c.readable = false
			return false
		}
		// Bytes, the end (a peek of 0) or an error a Read reports.
		return true
	}
}

// WriteRoom estimates, for the connection's own task, how many bytes a
// Write would take now without parking: 0 when the last edge left the
// connection unwritable (or it is closed or detached), else half the
// socket's send buffer (SO_SNDBUF, which counts the kernel's overhead
// too) less the bytes queued unacknowledged (SIOCOUTQ).
func (c *Conn) WriteRoom() int {
	if c.detached.Load() != nil || c.closed.Load() || !c.writable {
		return 0
	}
	size, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil {
		return 0
	}
	queued, err := unix.IoctlGetInt(c.fd, unix.SIOCOUTQ)
	if err != nil {
		return 0
	}
	return max(0, size/2-queued)
}

// Write writes p whole, parking the task while the socket's buffer is
// full, until the write deadline or Close.
func (c *Conn) Write(p []byte) (int, error) {
	if d := c.detached.Load(); d != nil {
		return (*d).Write(p)
	}
	done := 0
	for {
		if c.closed.Load() {
			return done, c.opErr("write", net.ErrClosed)
		}
		dl := c.wdl.Load()
		if dl != 0 && dl <= monoNow() {
			return done, c.opErr("write", os.ErrDeadlineExceeded)
		}
		if c.writable {
			n, err := rawWrite(c.fd, p[done:])
			if n > 0 {
				done += n
			}
			switch {
			case err == nil && done == len(p):
				return done, nil
			case err == nil, err == unix.EINTR:
				continue
			case err != unix.EAGAIN:
				return done, c.opErr("write", os.NewSyscallError("write", err))
			}
			c.writable = false
		}
		if err := c.l.park(c, true, dl); err != nil {
			return done, c.opErr("write", err)
		}
	}
}

// Close closes the connection; the loop closes the descriptor between
// task runs and wakes a task parked on it.
func (c *Conn) Close() error {
	if d := c.detached.Load(); d != nil {
		return (*d).Close()
	}
	if !c.closed.CompareAndSwap(false, true) {
		return c.opErr("close", net.ErrClosed)
	}
	if !c.l.post(op{kind: opClose, c: c}) {
		// The loop exited and closed every descriptor it had.
		return nil
	}
	// A Detach in between took the descriptor: close its net.Conn.
	if d := c.detached.Load(); d != nil {
		return (*d).Close()
	}
	return nil
}

// CloseWrite shuts down the writing side (a FIN), for the task.
func (c *Conn) CloseWrite() error {
	if d := c.detached.Load(); d != nil {
		if cw, ok := (*d).(interface{ CloseWrite() error }); ok {
			return cw.CloseWrite()
		}
		return nil
	}
	if c.closed.Load() {
		return c.opErr("close", net.ErrClosed)
	}
	return c.opErr("close", os.NewSyscallError("shutdown", unix.Shutdown(c.fd, unix.SHUT_WR)))
}

// LocalAddr is the connection's local address.
func (c *Conn) LocalAddr() net.Addr {
	if d := c.detached.Load(); d != nil {
		return (*d).LocalAddr()
	}
	if c.local == nil {
		return (*net.TCPAddr)(nil)
	}
	return c.local
}

// localAddr is fd's local address, nil when it cannot tell.
func localAddr(fd int) *net.TCPAddr {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil
	}
	return sockaddrToTCP(sa)
}

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr {
	if d := c.detached.Load(); d != nil {
		return (*d).RemoteAddr()
	}
	if c.remote == nil {
		return (*net.TCPAddr)(nil)
	}
	return c.remote
}

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if d := c.detached.Load(); d != nil {
		return (*d).SetDeadline(t)
	}
	ns := deadlineNanos(t)
	c.rdl.Store(ns)
	c.wdl.Store(ns)
	return c.deadlineMoved()
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if d := c.detached.Load(); d != nil {
		return (*d).SetReadDeadline(t)
	}
	c.rdl.Store(deadlineNanos(t))
	return c.deadlineMoved()
}

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if d := c.detached.Load(); d != nil {
		return (*d).SetWriteDeadline(t)
	}
	c.wdl.Store(deadlineNanos(t))
	return c.deadlineMoved()
}

// deadlineMoved wakes the task parked on c, if any, so that it re-checks
// its deadline. A call from the task itself finds nothing parked.
func (c *Conn) deadlineMoved() error {
	if c.closed.Load() {
		return c.opErr("set deadline", net.ErrClosed)
	}
	if c.parked() {
		c.l.post(op{kind: opWake, c: c})
	}
	return nil
}

// parked reads, from any goroutine, whether a task waits on c.
func (c *Conn) parked() bool { return c.parkedFlag.Load() }

// Detach moves the connection off the loop into an ordinary net.Conn;
// only the connection's own task calls it. The task then goes on on a
// goroutine of its own.
func (c *Conn) Detach() error {
	if c.detached.Load() != nil {
		return errors.New("loop: connection already detached")
	}
	if c.closed.Load() || c.fd < 0 {
		return c.opErr("detach", net.ErrClosed)
	}
	l := c.l
	t := l.cur
	if t == nil {
		panic("loop: Detach outside the connection's task")
	}
	if !onTask(t) {
		return c.opErr("detach", ErrNotTask)
	}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil); err != nil {
		return fmt.Errorf("loop: detach: epoll_ctl del: %w", err)
	}
	f := os.NewFile(uintptr(c.fd), "tcp")
	nc, err := net.FileConn(f) // a duplicate, in Go's netpoller
	f.Close()
	if c.fd < len(l.conns) && l.conns[c.fd] == c {
		l.conns[c.fd] = nil
	}
	c.fd, c.watch = -1, nil
	l.disarm(c)
	if err != nil {
		c.closed.Store(true)
		return fmt.Errorf("loop: detach: %w", err)
	}
	if ns := c.rdl.Load(); ns != 0 {
		_ = nc.SetReadDeadline(deadlineTime(ns))
	}
	if ns := c.wdl.Load(); ns != 0 {
		_ = nc.SetWriteDeadline(deadlineTime(ns))
	}
	c.detached.Store(&nc)
	if c.closed.Load() {
		// Closed by another goroutine meanwhile: its post found no
		// descriptor to close.
		nc.Close()
	}
	t.detached = true
	l.cur = nil
	t.yield(sigDetach)
	return nil
}

// WatchClose calls fn once, on the loop's goroutine, when the peer hangs
// up or the connection fails, until StopWatch(watch). A hang-up seen
// already fires it after the task yields, never from within WatchClose.
// The watch is a number, not a closure: arming and stopping allocate
// nothing.
func (c *Conn) WatchClose(fn func(error)) (watch uint64) {
	c.watchGen++
	if c.detached.Load() != nil || c.fd < 0 {
		return c.watchGen
	}
	c.watch = fn
	if c.hup {
		c.l.hups = append(c.l.hups, c)
	}
	return c.watchGen
}

// StopWatch disarms the watch WatchClose returned; a stale one (a newer
// watch was armed since) leaves the newer armed, and one that fired or
// was left behind by Detach does nothing.
func (c *Conn) StopWatch(watch uint64) {
	if c.watchGen == watch && c.detached.Load() == nil {
		c.watch = nil
	}
}

// Dial connects to addr from a task of l, parking it until the
// connection completes, fails or timeout passes (0: none).
func (l *Loop) Dial(addr netip.AddrPort, timeout time.Duration) (*Conn, error) {
	fail := func(err error) (*Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: err}
	}
	domain, sa := unix.AF_INET, unix.Sockaddr(nil)
	if a := addr.Addr().Unmap(); a.Is4() {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: a.As4()}
	} else {
		domain = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return fail(os.NewSyscallError("socket", err))
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	c := &Conn{l: l, fd: fd, remote: net.TCPAddrFromAddrPort(addr)}
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS && err != unix.EINTR {
		unix.Close(fd)
		return fail(os.NewSyscallError("connect", err))
	}
	if err := l.register(c); err != nil {
		unix.Close(fd)
		return fail(err)
	}
	var dl int64
	if timeout > 0 {
		dl = monoNow() + int64(timeout)
	}
	for !c.writable {
		if dl != 0 && dl <= monoNow() {
			l.closeFD(c)
			return fail(os.ErrDeadlineExceeded)
		}
		c.wdl.Store(dl)
		if err := l.park(c, true, dl); err != nil {
			l.closeFD(c)
			return fail(err)
		}
	}
	c.wdl.Store(0)
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && n != 0 {
		err = unix.Errno(n)
	}
	if err != nil {
		l.closeFD(c)
		return fail(os.NewSyscallError("connect", err))
	}
	c.hup = false
	c.local = localAddr(fd)
	return c, nil
}
