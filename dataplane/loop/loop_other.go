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
func Serve(*net.TCPListener, int, func(*Conn)) (*Group, error) { return nil, ErrUnsupported }

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
func (*Conn) WatchClose(func(error)) func() { return func() {} }
