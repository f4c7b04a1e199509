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
		w.n, w.err = pollNow(epfd, events)
		return w.n > 0 || w.err != nil && w.err != unix.EINTR
	}
}

// wait returns the loop's events, parking its goroutine on the netpoller
// up to timeout milliseconds (-1: no limit) while there are none.
func (l *Loop) wait(timeout int) (int, error) {
	var dl time.Time
	if timeout > 0 {
		dl = time.Now().Add(time.Duration(timeout) * time.Millisecond)
	}
	if err := l.waiter.f.SetReadDeadline(dl); err != nil {
		return 0, fmt.Errorf("loop: setting the wait's deadline: %w", err)
	}
	// RawConn.Read forgets the descriptor's readiness before it calls
	// the function first, so an event that comes after this poll found
	// nothing is not lost: the park returns at once.
	w := l.waiter
	err := w.rc.Read(w.poll)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("loop: waiting on the netpoller: %w", err)
	}
	return w.n, w.err
}
