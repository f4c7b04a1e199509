// Package freeport hands out loopback TCP ports for tests and benchmarks
// that start other processes, which must be told a port before they bind
// it.
//
// Asking the kernel for port 0 and closing the listener is racy twice
// over: the kernel may hand the same port to the next caller in this
// process, and ports from the ephemeral range are also what every
// outgoing connection on the machine is given. Port picks a random port
// below the ephemeral range (Linux's default starts at 32768), never the
// same one twice in a process, and checks that it can be bound now.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// The range ports are picked from: below Linux's default ephemeral range
// (32768–60999) and above the ports services usually listen on.
const (
	low  = 20000
	high = 32767
)

// ErrExhausted is returned when no port in the range could be bound.
var ErrExhausted = errors.New("no free loopback port left in the range")

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Port returns a loopback port that was free a moment ago and that this
// process has not handed out before.
func Port() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	for range 1000 {
		p := low + rand.IntN(high-low+1)
		if given[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = l.Close()
		given[p] = true
		return p, nil
	}
	return 0, ErrExhausted
}

// Addr returns "127.0.0.1:<port>" for a port from Port.
func Addr() (string, error) {
	p, err := Port()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", p), nil
}
