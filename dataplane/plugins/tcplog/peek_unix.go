//go:build unix

package tcplog

import (
	"net"
	"syscall"
)

// peerClosed peeks at conn without blocking: end of stream or an error
// other than "nothing to read" means the connection is gone.
func peerClosed(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var buf [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n == 0 && rerr == nil || rerr != nil && rerr != syscall.EAGAIN && rerr != syscall.EWOULDBLOCK //nolint:errorlint // raw errno
		return true
	})
	return closed || err != nil
}
