//go:build linux

package loop

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The loop's own system calls on non-blocking descriptors never block,
// so they skip the runtime's syscall bookkeeping (entersyscall and
// exitsyscall, and sysmon's retaking of a P that seems blocked): the
// loop's goroutine keeps its P throughout. A loop with nothing to run
// parks on Go's netpoller instead (wait_linux.go).

func rawRead(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// rawPeek peeks at one byte of fd without waiting: nil when there is a
// byte or the end of the stream, the errno otherwise.
func rawPeek(fd int) error {
	var b [1]byte
	_, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// pollNow is epoll_wait with timeout 0.
func pollNow(epfd int, events []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
