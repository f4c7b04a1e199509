//go:build !linux

package loop

import (
	"net"
	"net/netip"
	"time"
)

// Group is the loops serving one listener.
type Group struct{}

// Loop is one event loop.
type Loop struct{}

// Conn is a connection driven by a Loop.
type Conn struct{ net.Conn }

// Serve returns ErrUnsupported.
func Serve(*net.TCPListener, int, func(*Conn), ...Option) (*Group, error) {
	return nil, ErrUnsupported
}

// acceptFunc is Linux's alone.
type acceptFunc func()

func accept4() {}

// Close does nothing.
func (*Group) Close() error { return nil }

// Wait returns at once.
func (*Group) Wait() {}

// Of reports false.
func Of(net.Conn) (*Loop, bool) { return nil, false }

// Dial returns ErrUnsupported.
func (*Loop) Dial(netip.AddrPort, time.Duration) (*Conn, error) { return nil, ErrUnsupported }

// Detach returns ErrUnsupported.
func (*Conn) Detach() error { return ErrUnsupported }

// WatchClose does nothing.
func (*Conn) WatchClose(func(error)) uint64 { return 0 }

// StopWatch does nothing.
func (*Conn) StopWatch(uint64) {}

// OnExit reports false: there is no loop to exit.
func (*Loop) OnExit(func()) (func(), bool) { return nil, false }

// ReadReady returns false.
func (*Conn) ReadReady() bool { return false }

// WriteRoom returns 0.
func (*Conn) WriteRoom() int { return 0 }
