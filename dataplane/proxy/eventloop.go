package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/loop"
)

// Event loops. A plain-HTTP listener may be served by dataplane/loop
// (Options.EventLoop): each connection's h1 code runs as a task of an
// event loop, which must never block on anything the loop does not
// drive. The native path stays on the loop: its upstream connections are
// dialed on the client's loop and pooled per loop (connOwner); what would
// block (a target named by a host name, whose dial resolves it) moves the
// client connection to Go's netpoller first (detach). The adapter path
// detaches before anything else (h1Handler.ServeH1): it reads bodies and
// writes responses from other goroutines, and its transports block. What
// the native path may still wait on while on a loop is short and
// accepted: the locks of rate-limiting's local counters, of the access
// log's LogWriter and of the upstream pools (each loop's pool has its
// own, uncontended), and the health checks'
// reports, and a temporary file's reads and writes. A route with
// response buffering is spooled by the loop's task (loopSpool, decorate):
// the spool's goroutine would read the loop's upstream connection.

// DefaultEventLoop is whether plain-HTTP listeners are served on event
// loops when neither Options.EventLoop nor SKYPORT_EVENT_LOOP says: on
// (Linux alone has them; elsewhere the setting is ignored). It was off
// while a loop parked on the netpoller could wait hundreds of
// milliseconds for an M to poll it (docs/h1.md, "Event loops").
var DefaultEventLoop = true

// EventLoopEnv names the environment variable that sets Options.EventLoop
// when it is "".
const EventLoopEnv = "SKYPORT_EVENT_LOOP"

// ParseEventLoop checks an EventLoop setting: "on", "off" or "".
func ParseEventLoop(v string) error {
	switch v {
	case "", "on", "off":
		return nil
	}
	return fmt.Errorf("event loop %q: want on or off", v)
}

// eventLoopOn resolves the setting v (Options.EventLoop): v, else the
// environment's, else the default; only where event loops run (Linux).
func eventLoopOn(v string) (bool, error) {
	if v == "" {
		v = os.Getenv(EventLoopEnv)
		if err := ParseEventLoop(v); err != nil {
			return false, fmt.Errorf("%s: %w", EventLoopEnv, err)
		}
	}
	if err := ParseEventLoop(v); err != nil {
		return false, err
	}
	on := v == "on" || v == "" && DefaultEventLoop
	return on && runtime.GOOS == "linux", nil
}

// loopOwner is an event loop as the upstream client's connOwner.
type loopOwner struct{ l *loop.Loop }

// Dial implements connOwner.
func (o loopOwner) Dial(addr netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	c, err := o.l.Dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// OnExit implements connOwner.
func (o loopOwner) OnExit(fn func()) (cancel func(), ok bool) { return o.l.OnExit(fn) }

// ownerOf is the event loop serving r's connection, nil when Go's
// netpoller serves it.
func ownerOf(r *h1.Request) connOwner {
	if l, ok := loop.Of(r.NetConn()); ok {
		return loopOwner{l}
	}
	return nil
}

// ipAddrPort reports whether addr is an IP literal and a port, which an
// event loop dials without resolving.
func ipAddrPort(addr string) bool {
	_, err := netip.ParseAddrPort(addr)
	return err == nil
}

// detach moves the native request's client connection off its event
// loop; the upstream connections from then on are Go's netpoller's.
// Called with no upstream connection of the loop held.
func (x *nativeExchange) detach() error {
	if err := x.r.Detach(); err != nil {
		return fmt.Errorf("serving the request off its event loop: %w", err)
	}
	x.owner = nil
	return nil
}
