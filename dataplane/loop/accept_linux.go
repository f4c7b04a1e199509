//go:build linux

package loop

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// acceptFunc takes one connection from the listener lnfd: its descriptor
// (non-blocking, close-on-exec) and the peer's address.
type acceptFunc func(lnfd int) (int, unix.Sockaddr, error)

func accept4(lnfd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(lnfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}

// acceptState is a loop's side of the listener: whether it is paused
// after an accept failed, for how long, and what was logged of it.
type acceptState struct {
	// paused says the listener left the loop's epoll set until the
	// pause entry (a Conn of no descriptor, in the timer heap) fires.
	paused bool
	pause  time.Duration
	entry  *Conn
	// logged is when a failure was last logged; failures counts those
	// since.
	logged   time.Time
	failures int
}

// accept takes the connections waiting on the listener, each into a new
// task.
func (l *Loop) accept() {
	for range 128 {
		fd, sa, err := l.g.cfg.accept(l.lnfd)
		if err != nil {
			// EAGAIN: another loop took it, or none is left; EINTR and
			// ECONNABORTED (the connection went before it was taken):
			// the listener's next readiness tells again. Any other
			// failure (EMFILE, ENFILE: out of descriptors; ENOBUFS,
			// ENOMEM) leaves the listener readable, and its readiness
			// is level-triggered: the loop pauses it rather than spin.
			if err != unix.EAGAIN && err != unix.EINTR && err != unix.ECONNABORTED {
				l.pauseAccept(os.NewSyscallError("accept4", err))
			}
			return
		}
		l.acc.pause = 0
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		keepAlive(fd)
		c := &Conn{fd: fd, writable: true, remote: sockaddrToTCP(sa), local: localAddr(fd)}
		if to := l.g.next(); to != l && to.post(op{kind: opAdopt, c: c}) {
			continue
		}
		l.adopt(c)
	}
}

// next is the loop the group's next accepted connection goes to, in
// turn: whichever loop accepts (the listener wakes every loop, and a busy
// loop, polling more often, would take most), the connections are spread
// evenly over the loops.
func (g *Group) next() *Loop {
	if len(g.loops) == 1 {
		return g.loops[0]
	}
	return g.loops[(g.accepted.Add(1)-1)%uint64(len(g.loops))]
}

// adopt makes l serve c, a connection accepted by l or a sibling.
func (l *Loop) adopt(c *Conn) {
	c.l = l
	if err := l.register(c); err != nil {
		unix.Close(c.fd)
		return
	}
	l.spawn(c)
}

// pauseAccept takes the listener out of the loop's epoll set after an
// accept failed with err, for a pause that starts at pauseMin and doubles
// up to pauseMax while accepts keep failing (net/http's Server.Serve
// sleeps as long), on the loop's timer heap: the loop goes on serving
// its connections meanwhile, and some of them ending frees descriptors.
// A failure is logged at most once a second per loop.
func (l *Loop) pauseAccept(err error) {
	a := &l.acc
	cfg := &l.g.cfg
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, l.lnfd, nil)
	a.paused = true
	a.pause = min(max(2*a.pause, cfg.pauseMin), cfg.pauseMax)
	if a.entry == nil {
		a.entry = &Conn{l: l, fd: -1}
	}
	l.arm(a.entry, false, monoNow()+int64(a.pause))
	now := time.Now()
	a.failures++
	if now.Sub(a.logged) >= time.Second {
		cfg.log.Warn("loop: accepting a connection failed; the listener pauses",
			"error", err, "pause", a.pause, "failures", a.failures)
		a.logged, a.failures = now, 0
	}
}

// resumeAccept puts the paused listener back in the loop's epoll set
// (its pause entry fired); a listener closed meanwhile stays out.
func (l *Loop) resumeAccept() {
	l.acc.paused = false
	if l.lnfd < 0 {
		return
	}
	if err := l.add(l.lnfd, unix.EPOLLIN|unix.EPOLLEXCLUSIVE); err != nil {
		l.pauseAccept(err)
	}
}

// stopAccept takes the listener out of the loop for good (Group.Close).
func (l *Loop) stopAccept() {
	if l.lnfd < 0 {
		return
	}
	if l.acc.paused {
		l.acc.paused = false
		l.disarm(l.acc.entry)
	} else {
		_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, l.lnfd, nil)
	}
	l.lnfd = -1
}

// The TCP keep-alive of an accepted connection: Go's net sets these on
// the connections a TCPListener accepts (net.KeepAliveConfig's defaults:
// idle 15 s, probes every 15 s, 9 of them), so a peer gone without a
// FIN is found on a loop as it is off one.
const (
	keepAliveIdle     = 15 // seconds
	keepAliveInterval = 15 // seconds
	keepAliveCount    = 9
)

// keepAlive turns TCP keep-alive on for fd as Go's listeners do; a
// failure leaves the connection without it, as Go's does.
func keepAlive(fd int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1) != nil {
		return
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, keepAliveIdle)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, keepAliveInterval)
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, keepAliveCount)
}
