//go:build linux

package loop

import (
	"errors"
	"fmt"
	"iter"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Group is the loops serving one listener.
type Group struct {
	loops []*Loop
	lnfd  int
	cfg   config
	// wg counts the loops and the detached tasks still running.
	wg        sync.WaitGroup
	closeOnce sync.Once
	// accepted counts the connections accepted (next).
	accepted atomic.Uint64
	// nudges readies the nudger goroutine (nudge); nil with one loop,
	// closed once every loop and detached task ended.
	nudges chan struct{}
}

// Loop is one event loop: an epoll instance, its goroutine and the tasks
// it runs.
type Loop struct {
	g    *Group
	epfd int
	evfd int
	// lnfd is the listener's descriptor while the loop accepts, else -1.
	lnfd  int
	serve func(*Conn)

	// conns maps a descriptor to its Conn; only the loop's goroutine
	// touches it.
	conns  []*Conn
	runq   []*task
	timers timerHeap
	// timerSeq numbers the timer entries.
	timerSeq uint64
	cur      *task
	// hups are the conns whose watch was armed after their hang-up
	// came: fired once the running task yields.
	hups []*Conn
	// acc is the listener's pause after accept failures.
	acc acceptState
	// tasks counts the tasks the loop still drives.
	tasks int
	// rounds counts the loop's rounds (runTasks, once each), for tests
	// that check an idle loop waits instead of spinning; the loop's
	// goroutine alone adds to it.
	rounds atomic.Uint64
	events [256]unix.EpollEvent
	// waiter parks the loop's goroutine while it has nothing to run;
	// parkCap bounds a park (wait).
	waiter  *waiter
	parkCap time.Duration
	// nudged is when the loop last nudged the scheduler (nudge).
	nudged int64

	mu  sync.Mutex
	ops []op
	// nops mirrors len(ops) for a look without the lock.
	nops atomic.Int32
	// sleeping says the loop is, or is about to be, parked waiting
	// for events (wait): a poster writes the eventfd.
	sleeping atomic.Bool
	// dead says the loop has exited: a post is carried out by the
	// poster.
	dead bool
	// exitFns are called once the loop exited (OnExit); exitSeq numbers
	// them.
	exitFns map[uint64]func()
	exitSeq uint64
}

// op is a request posted to the loop by another goroutine.
type op struct {
	kind opKind
	c    *Conn
	done chan struct{}
}

type opKind uint8

const (
	opClose opKind = iota
	opWake
	opStopAccept
	// opAdopt hands the loop a connection a sibling accepted.
	opAdopt
)

// signal is what a task yields to its loop.
type signal uint8

const (
	sigPark signal = iota
	sigDetach
)

// task is one coroutine the loop drives.
type task struct {
	l     *Loop
	next  func() (signal, bool)
	stop  func()
	yield func(signal) bool
	// parked is the Conn the task waits on while parked; queued says it
	// is in the run queue.
	parked   *Conn
	queued   bool
	detached bool
	// gid is the coroutine's goroutine, in race-enabled builds (onTask).
	gid int64
}

// Serve starts n loops (0: GOMAXPROCS) that accept on ln and run serve on
// each connection accepted.
func Serve(ln *net.TCPListener, n int, serve func(*Conn), opts ...Option) (*Group, error) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("loop: listener: %w", err)
	}
	lnfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		lnfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, fmt.Errorf("loop: listener: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("loop: duplicating the listener: %w", derr)
	}
	g := &Group{lnfd: lnfd, cfg: newConfig(opts)}
	for range n {
		l, err := newLoop(g, serve)
		if err == nil {
			err = l.add(lnfd, unix.EPOLLIN|unix.EPOLLEXCLUSIVE)
		}
		if err != nil {
			for _, l := range g.loops {
				l.closeFDs()
			}
			if l != nil {
				l.closeFDs()
			}
			unix.Close(lnfd)
			return nil, err
		}
		l.lnfd = lnfd
		g.loops = append(g.loops, l)
	}
	if len(g.loops) > 1 {
		g.nudges = make(chan struct{})
		go nudger(g.nudges)
	}
	g.wg.Add(len(g.loops))
	for _, l := range g.loops {
		go l.run()
	}
	if g.nudges != nil {
		go func() {
			g.wg.Wait()
			close(g.nudges)
		}()
	}
	return g, nil
}

// Close stops accepting: every loop deregisters the listener, then its
// duplicate descriptor is closed. The loops go on driving their tasks.
func (g *Group) Close() error {
	g.closeOnce.Do(func() {
		var waits []chan struct{}
		for _, l := range g.loops {
			done := make(chan struct{})
			if l.post(op{kind: opStopAccept, done: done}) {
				waits = append(waits, done)
			}
		}
		for _, w := range waits {
			<-w
		}
		unix.Close(g.lnfd)
	})
	return nil
}

// Wait returns when every loop and every detached task has ended.
func (g *Group) Wait() { g.wg.Wait() }

func newLoop(g *Group, serve func(*Conn)) (*Loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("loop: epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("loop: eventfd: %w", err)
	}
	l := &Loop{g: g, epfd: epfd, evfd: evfd, lnfd: -1, serve: serve, parkCap: parkCapMin}
	if err := l.add(evfd, unix.EPOLLIN|unix.EPOLLET); err != nil {
		l.closeFDs()
		return nil, err
	}
	if l.waiter, err = newWaiter(epfd); err != nil {
		l.closeFDs()
		return nil, err
	}
	l.waiter.pollFor(epfd, l.events[:])
	return l, nil
}

func (l *Loop) closeFDs() {
	if l.waiter != nil {
		l.waiter.f.Close()
	}
	unix.Close(l.epfd)
	unix.Close(l.evfd)
}

func (l *Loop) add(fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("loop: epoll_ctl add: %w", err)
	}
	return nil
}

// connEvents are the events a connection's descriptor is registered for,
// once.
const connEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

// register adds c to the loop's epoll set and its table.
func (l *Loop) register(c *Conn) error {
	if err := l.add(c.fd, connEvents); err != nil {
		return err
	}
	for c.fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*Conn, len(l.conns)+64)...)
	}
	l.conns[c.fd] = c
	return nil
}

// post queues o for the loop and wakes it if it sleeps; it reports false
// when the loop has exited (nothing left to do).
func (l *Loop) post(o op) bool {
	l.mu.Lock()
	if l.dead {
		l.mu.Unlock()
		return false
	}
	l.ops = append(l.ops, o)
	l.nops.Store(int32(len(l.ops)))
	l.mu.Unlock()
	if l.sleeping.Load() {
		var one = [8]byte{1}
		_, _ = unix.Write(l.evfd, one[:])
	}
	return true
}

func (l *Loop) run() {
	defer l.g.wg.Done()
	var pending []op
	for {
		if l.nops.Load() > 0 {
			l.mu.Lock()
			pending, l.ops = l.ops, pending[:0]
			l.nops.Store(0)
			l.mu.Unlock()
			for _, o := range pending {
				l.do(o)
			}
			clear(pending)
		}
		l.runTasks()
		for i, c := range l.hups {
			if fn := c.watch; fn != nil {
				c.watch = nil
				fn(errPeerClosed)
			}
			l.hups[i] = nil
		}
		l.hups = l.hups[:0]
		if l.lnfd < 0 && l.tasks == 0 && len(l.runq) == 0 && l.exit() {
			return
		}
		timeout := 0
		if len(l.runq) == 0 {
			timeout = l.timers.timeout()
			if timeout != 0 {
				l.sleeping.Store(true)
				if l.nops.Load() > 0 {
					timeout = 0
				}
			}
		}
		var n int
		var err error
		if timeout == 0 {
			n, err = pollNow(l.epfd, l.events[:])
			if l.g.nudges != nil {
				l.nudge(monoNow())
			}
		} else {
			n, err = l.wait(timeout)
			l.sleeping.Store(false)
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			panic(fmt.Sprintf("loop: epoll_wait: %v", err))
		}
		for i := range n {
			l.event(&l.events[i])
		}
		if len(l.timers) > 0 {
			l.fireTimers()
		}
	}
}

// exit ends the loop when nothing was posted since the last look: it
// closes the descriptors of the conns still registered (dialed ones a
// pool kept) and its own.
func (l *Loop) exit() bool {
	l.mu.Lock()
	if len(l.ops) > 0 {
		l.mu.Unlock()
		return false
	}
	l.dead = true
	fns := l.exitFns
	l.exitFns = nil
	l.mu.Unlock()
	for _, c := range l.conns {
		if c != nil {
			c.closed.Store(true)
			l.closeFD(c)
		}
	}
	l.closeFDs()
	for _, fn := range fns {
		fn()
	}
	return true
}

// OnExit has fn called once the loop exited (its group closed and its
// last task ended), on the loop's goroutine after it closed the
// connections it still had (a pool's); fn must not block. ok is false,
// and fn forgotten, when the loop exited already; cancel forgets fn.
func (l *Loop) OnExit(fn func()) (cancel func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		return nil, false
	}
	if l.exitFns == nil {
		l.exitFns = map[uint64]func(){}
	}
	l.exitSeq++
	id := l.exitSeq
	l.exitFns[id] = fn
	return func() {
		l.mu.Lock()
		delete(l.exitFns, id)
		l.mu.Unlock()
	}, true
}

func (l *Loop) do(o op) {
	switch o.kind {
	case opClose:
		c := o.c
		if c.fd >= 0 {
			l.closeFD(c)
		}
		l.wake(c)
	case opWake:
		l.wake(o.c)
	case opStopAccept:
		l.stopAccept()
		close(o.done)
	case opAdopt:
		l.adopt(o.c)
	}
}

// closeFD closes c's descriptor (which leaves the epoll set with it) and
// forgets it.
func (l *Loop) closeFD(c *Conn) {
	if c.fd < len(l.conns) && l.conns[c.fd] == c {
		l.conns[c.fd] = nil
	}
	unix.Close(c.fd)
	c.fd = -1
	c.watch = nil
	l.disarm(c)
}

// wake queues the task parked on c, if any.
func (l *Loop) wake(c *Conn) {
	if t := c.waiter; t != nil && t.parked == c && !t.queued {
		t.queued = true
		l.runq = append(l.runq, t)
	}
}

func (l *Loop) event(ev *unix.EpollEvent) {
	fd := int(ev.Fd)
	switch fd {
	case l.evfd:
		var b [8]byte
		_, _ = unix.Read(l.evfd, b[:])
		return
	case l.lnfd:
		if !l.acc.paused {
			l.accept()
		}
		return
	}
	if fd >= len(l.conns) {
		return
	}
	c := l.conns[fd]
	if c == nil {
		return
	}
	e := ev.Events
	if e&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.readable = true
	}
	if e&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.writable = true
	}
	if e&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.hup = true
		if fn := c.watch; fn != nil {
			c.watch = nil
			err := errPeerClosed
			if e&unix.EPOLLERR != 0 {
				if n, gerr := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); gerr == nil && n != 0 {
					err = os.NewSyscallError("read", unix.Errno(n))
				}
			}
			fn(err)
		}
	}
	if t := c.waiter; t != nil && t.parked == c && !t.queued {
		if (c.waitWrite && c.writable) || (!c.waitWrite && c.readable) {
			t.queued = true
			l.runq = append(l.runq, t)
		}
	}
}

// spawn starts the task serving c.
func (l *Loop) spawn(c *Conn) {
	t := &task{l: l}
	serve := l.serve
	t.next, t.stop = iter.Pull(func(yield func(signal) bool) {
		t.yield = yield
		t.gid = taskGID()
		serve(c)
	})
	l.tasks++
	t.queued = true
	l.runq = append(l.runq, t)
}

// runTasks runs every ready task until it parks, detaches or ends; tasks
// woken meanwhile run in the same round.
func (l *Loop) runTasks() {
	l.rounds.Add(1)
	for i := 0; i < len(l.runq); i++ {
		t := l.runq[i]
		l.runq[i] = nil
		t.queued = false
		l.cur = t
		sig, ok := t.next()
		l.cur = nil
		switch {
		case !ok:
			l.tasks--
		case sig == sigDetach:
			l.tasks--
			l.g.wg.Add(1)
			go func() {
				defer l.g.wg.Done()
				for {
					if _, ok := t.next(); !ok {
						return
					}
				}
			}()
		}
	}
	l.runq = l.runq[:0]
}

// park suspends the running task until c's event (a read, or a write
// with write set), a wake, or the deadline dl (monoNow, 0: none).
// ErrNotTask: the caller is not the running task's goroutine (checked in
// race-enabled builds): parking would resume that task's coroutine from
// the wrong goroutine while the loop goes on with it.
func (l *Loop) park(c *Conn, write bool, dl int64) error {
	t := l.cur
	if t == nil {
		panic("loop: a Conn used outside its loop's tasks")
	}
	if !onTask(t) {
		return ErrNotTask
	}
	c.parkedFlag.Store(true)
	// A deadline moved since the caller looked: it looks again. One
	// moved from now on posts a wake.
	now := c.rdl.Load()
	if write {
		now = c.wdl.Load()
	}
	if now != dl {
		c.parkedFlag.Store(false)
		return nil
	}
	c.waiter, c.waitWrite = t, write
	t.parked = c
	if dl != 0 {
		l.arm(c, write, dl)
	}
	l.cur = nil
	t.yield(sigPark)
	l.cur = t
	t.parked = nil
	c.waiter = nil
	c.parkedFlag.Store(false)
	return nil
}

// fireTimers wakes the tasks whose deadlines passed.
func (l *Loop) fireTimers() {
	now := monoNow()
	for len(l.timers) > 0 && l.timers[0].when <= now {
		e := l.timers.pop()
		c := e.c
		slot := &c.rtimer
		dl := c.rdl.Load()
		if e.write {
			slot, dl = &c.wtimer, c.wdl.Load()
		}
		if slot.seq != e.seq {
			continue // replaced by an earlier one
		}
		slot.armed = false
		if c == l.acc.entry {
			l.resumeAccept()
			continue
		}
		t := c.waiter
		if t == nil || t.parked != c || c.waitWrite != e.write || dl == 0 {
			continue // the next park arms it again
		}
		if dl > now {
			l.arm(c, e.write, dl)
			continue
		}
		if !t.queued {
			t.queued = true
			l.runq = append(l.runq, t)
		}
	}
}

// sockaddrToTCP converts an accepted or dialed peer's address.
func sockaddrToTCP(sa unix.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
	}
	return nil
}
