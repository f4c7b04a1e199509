//go:build linux

package loop

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A loop with nothing to run waits on Go's netpoller, not in a blocking
// epoll_wait of its own: a duplicate of its epoll descriptor (readable
// while the loop's set has events) is registered there, and the loop's
// goroutine parks on it as a goroutine parks on a socket. Its P is then
// free for other goroutines or idle, as the runtime sees fit. A blocking
// epoll_wait through a system call left the P in a system call: after
// 20 µs sysmon retook it and, with no P idle, handed it to a new spinning
// M that found nothing to run, while sysmon itself kept polling every
// 20 µs; on return the loop's thread had to find a P again. Unpinned,
// with two loops sharing two cores with their clients, that churn cost
// more CPU than the loop saved (BENCHMARKS.md, "Unpinned: where the CPU
// goes").

// waiter is a loop's epoll descriptor as Go's netpoller sees it.
type waiter struct {
	f  *os.File
	rc syscall.RawConn
	// poll is the function RawConn.Read calls, made once (a closure
	// per wait would allocate); it leaves its results in n and err.
	poll func(uintptr) bool
	n    int
	err  error
}

// newWaiter registers a duplicate of epfd with Go's netpoller.
func newWaiter(epfd int) (*waiter, error) {
	fd, err := unix.FcntlInt(uintptr(epfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("loop: duplicating the epoll descriptor: %w", err)
	}
	// Non-blocking, so that os.NewFile hands it to the netpoller
	// (epoll_wait itself ignores the flag).
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("loop: epoll descriptor: %w", err)
	}
	f := os.NewFile(uintptr(fd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("loop: epoll descriptor: %w", err)
	}
	return &waiter{f: f, rc: rc}, nil
}

// pollFor sets w.poll to poll epfd into events.
func (w *waiter) pollFor(epfd int, events []unix.EpollEvent) {
	w.poll = func(uintptr) bool {
		for {
			w.n, w.err = pollNow(epfd, events)
			// EINTR: interrupted before it looked; the readiness that
			// woke the netpoller is still queued, so look again rather
			// than park on an edge already taken.
			if w.err != unix.EINTR {
				return w.n > 0 || w.err != nil
			}
		}
	}
}

// wait returns the loop's events, parking its goroutine on the netpoller
// up to timeout milliseconds (-1: no limit) while there are none, and no
// longer than the loop's park cap (parkCapMin to parkCapMax).
func (l *Loop) wait(timeout int) (int, error) {
	d := time.Duration(timeout) * time.Millisecond
	capped := timeout < 0 || d > l.parkCap
	if capped {
		d = l.parkCap
	}
	if err := l.waiter.f.SetReadDeadline(time.Now().Add(d)); err != nil {
		return 0, fmt.Errorf("loop: setting the wait's deadline: %w", err)
	}
	// RawConn.Read forgets the descriptor's readiness before it calls
	// the function first, so an event that comes after this poll found
	// nothing is not lost: the park returns at once.
	w := l.waiter
	err := w.rc.Read(w.poll)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if capped {
			l.parkCap = min(2*l.parkCap, parkCapMax)
		}
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("loop: waiting on the netpoller: %w", err)
	}
	if w.n > 0 {
		l.parkCap = parkCapMin
	}
	return w.n, w.err
}

// A loop's park is bounded. Go's scheduler polls the network when a P has
// nothing to run (one M blocks in epoll_wait for all of them) and sysmon
// polls it every 10 ms, but only while awake: it sleeps once every P was
// idle, until a goroutine enters a system call, and a loop's system calls
// are raw ones the scheduler does not see. Measured (`bench h1proxy
// -loop`, unpinned, runtime traces): with one loop running on the M that
// had been blocked in the netpoller, a sibling parked with events pending
// in its epoll set stayed parked until sysmon's next timer, 20–450 ms
// later (p99 of 250–450 ms). A loop's epoll_wait on its own set does not
// depend on the netpoller, so a park ends after the cap at most and the
// loop looks itself: the cap starts at parkCapMin, doubles with every park
// that ran it out with nothing to do, to parkCapMax (an idle loop wakes a
// few times a second), and is back at parkCapMin once a wait brings
// events.
const (
	parkCapMin = time.Millisecond
	parkCapMax = 256 * time.Millisecond
)

// A running loop nudges the scheduler. The cap above bounds a park only
// when the runtime runs its timers, and a P's timers, like the netpoller,
// wait for an M that looks: with one loop running and the other Ms asleep
// on futexes, a capped park still lasted until sysmon's next look, 10–20
// ms. So a loop that keeps running (no park) readies the group's nudger
// goroutine every nudgeEvery while a sibling sleeps: readying a goroutine
// starts an M on an idle P, which runs that P's timers, polls the network
// (and finds the sibling's events), and, left with nothing to do, blocks
// in the netpoller.
const nudgeEvery = 500 * time.Microsecond

// nudge readies the group's nudger if nudgeEvery passed since l's last
// nudge and a sibling sleeps; now is the monotonic clock in ns.
func (l *Loop) nudge(now int64) {
	if now-l.nudged < int64(nudgeEvery) {
		return
	}
	l.nudged = now
	for _, sl := range l.g.loops {
		if sl != l && sl.sleeping.Load() {
			select {
			case l.g.nudges <- struct{}{}:
			default: // awake already
			}
			return
		}
	}
}

// nudger is the goroutine nudge readies; it ends when nudges is closed.
func nudger(nudges <-chan struct{}) {
	for range nudges {
	}
}

// epoch anchors monoNow.
var epoch = time.Now()

// monoNow is the monotonic clock in ns since epoch (time.Since reads only
// the monotonic clock).
func monoNow() int64 { return int64(time.Since(epoch)) }
