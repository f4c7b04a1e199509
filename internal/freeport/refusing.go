//go:build unix

package freeport

import (
	"fmt"
	"syscall"
)

// Refusing reserves a loopback port on which every connection is
// refused, for tests of an upstream or a control plane that is down. It
// binds a socket without listening on it: the kernel answers a connection
// with a reset, and gives the port to no other socket, in this process or
// another, until release is called. (A listener closed for the purpose
// frees its port, which the kernel may hand to the next listener asked
// for, and a test meant to find nothing then finds another test's
// server.)
func Refusing() (port int, release func(), err error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, nil, fmt.Errorf("reserving a refusing port: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		_ = syscall.Close(fd)
		return 0, nil, fmt.Errorf("reserving a refusing port: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		_ = syscall.Close(fd)
		return 0, nil, fmt.Errorf("reserving a refusing port: %w", err)
	}
	in, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		_ = syscall.Close(fd)
		return 0, nil, fmt.Errorf("reserving a refusing port: bound to %T", sa)
	}
	return in.Port, func() { _ = syscall.Close(fd) }, nil
}
