//go:build unix

package peek

import (
	"net"
	"syscall"
)

// Conn peeks at conn without blocking, one system call.
func Conn(conn net.Conn) State {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return Unknown
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return Closed
	}
	state := Unknown
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK: //nolint:errorlint // raw errno
			state = Empty
		case rerr != nil || n == 0:
			state = Closed
		default:
			state = Pending
		}
		return true
	})
	if err != nil {
		return Closed
	}
	return state
}
