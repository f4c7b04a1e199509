package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dialOwner is a connOwner that dials on Go's netpoller and counts its
// dials, standing for an event loop.
type dialOwner struct{ dials *atomic.Int32 }

func (o dialOwner) Dial(addr netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	o.dials.Add(1)
	return net.DialTimeout("tcp", addr.String(), timeout)
}

// OnExit: the stand-in never exits.
func (dialOwner) OnExit(func()) (func(), bool) { return func() {}, true }

// TestClientPoolPerOwner: the upstream connections of an event loop's
// requests are dialed on it and pooled apart, for its requests only;
// those of Go's netpoller (owner nil) are the client's dial's and never
// go to a loop; a host name is not dialed on a loop.
func TestClientPoolPerOwner(t *testing.T) {
	t.Parallel()
	var accepted atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			accepted.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	addr := up.Listener.Addr().String()
	var netpoller atomic.Int32
	c := newH1Client("http", func(ctx context.Context, network, addr string) (net.Conn, error) {
		netpoller.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	})
	c.ownDial = func(o connOwner, ap netip.AddrPort) (net.Conn, error) { return o.Dial(ap, time.Second) }
	defer c.CloseIdleConnections()
	var dialsA, dialsB atomic.Int32
	a, b := dialOwner{&dialsA}, dialOwner{&dialsB}
	send := func(owner connOwner, addr string) error {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		require.NoError(t, err)
		res, err := c.send(context.Background(), &exchange{owner: owner}, addr, http.MethodGet, httpHead{req}, req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		assert.Equal(t, "ok", string(body))
		return nil
	}
	tests := []struct {
		owner connOwner
		// dials: owner A's, B's and Go's netpoller's after the request.
		dials [3]int32
	}{
		{a, [3]int32{1, 0, 0}},
		{a, [3]int32{1, 0, 0}}, // A's pooled connection
		{nil, [3]int32{1, 0, 1}},
		{b, [3]int32{1, 1, 1}},
		{nil, [3]int32{1, 1, 1}},
		{b, [3]int32{1, 1, 1}},
		{a, [3]int32{1, 1, 1}},
	}
	for i, tc := range tests {
		require.NoError(t, send(tc.owner, addr), "request %d", i)
		assert.Equal(t, tc.dials, [3]int32{dialsA.Load(), dialsB.Load(), netpoller.Load()}, "request %d", i)
	}
	assert.Equal(t, int32(3), accepted.Load())
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	err = send(a, net.JoinHostPort("localhost", port))
	require.ErrorContains(t, err, "not an IP address")
	assert.Equal(t, int32(1), dialsA.Load())
}

// TestEventLoopSetting: Options.EventLoop, else the environment, else
// the default; a bad value is an error.
func TestEventLoopSetting(t *testing.T) {
	tests := []struct {
		opt, env string
		on       bool
		err      bool
	}{
		{"on", "off", true, false},
		{"off", "on", false, false},
		{"", "on", true, false},
		{"", "off", false, false},
		{"", "", DefaultEventLoop, false},
		{"yes", "", false, true},
		{"", "1", false, true},
	}
	for _, tc := range tests {
		t.Setenv(EventLoopEnv, tc.env)
		on, err := eventLoopOn(tc.opt)
		assert.Equal(t, tc.err, err != nil, "%q %q: %v", tc.opt, tc.env, err)
		assert.Equal(t, tc.on, on, "%q %q", tc.opt, tc.env)
	}
}

// exitingOwner is a connOwner that dials on Go's netpoller and exits when
// the test says, as an event loop does once its listener closed.
type exitingOwner struct {
	dials, registered, canceled int
	exited                      bool
	onExit                      func()
}

func (o *exitingOwner) Dial(addr netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	o.dials++
	return net.DialTimeout("tcp", addr.String(), timeout)
}

func (o *exitingOwner) OnExit(fn func()) (func(), bool) {
	if o.exited {
		return nil, false
	}
	o.registered++
	o.onExit = fn
	return func() { o.canceled++ }, true
}

// exit is the owner's exit: its OnExit function runs once.
func (o *exitingOwner) exit() {
	o.exited = true
	if fn := o.onExit; fn != nil {
		o.onExit = nil
		fn()
	}
}

// TestClientDropsExitedOwner: the client watches each event loop it
// dialed on once; when the loop exits its pooled connections are dropped,
// a loop that exited already gets no connection pooled, and
// CloseIdleConnections cancels the watches.
func TestClientDropsExitedOwner(t *testing.T) {
	t.Parallel()
	// home: the upstream is the client's home address, whose pools are
	// reached without the map.
	for _, home := range []bool{false, true} {
		t.Run(fmt.Sprintf("home=%v", home), func(t *testing.T) {
			t.Parallel()
			clientDropsExitedOwner(t, home)
		})
	}
}

func clientDropsExitedOwner(t *testing.T, home bool) {
	var closed atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	addr := up.Listener.Addr().String()
	c := newH1Client("http", (&net.Dialer{}).DialContext)
	c.ownDial = func(o connOwner, ap netip.AddrPort) (net.Conn, error) { return o.Dial(ap, time.Second) }
	if home {
		c.setHome(addr)
	}
	send := func(owner connOwner) error {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		require.NoError(t, err)
		res, err := c.send(context.Background(), &exchange{owner: owner}, addr, http.MethodGet, httpHead{req}, req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, 64))
		require.NoError(t, err)
		require.NoError(t, res.Body.Close())
		assert.Equal(t, "ok", string(body))
		return nil
	}
	pooled := func(o connOwner) int { return c.idleCount(func(k poolKey) bool { return k.owner == o }) }
	a, b := &exitingOwner{}, &exitingOwner{}
	require.NoError(t, send(a))
	require.NoError(t, send(a))
	assert.Equal(t, 1, a.dials, "the pooled connection was not reused")
	assert.Equal(t, 1, a.registered, "the loop is watched once")
	assert.Equal(t, 1, pooled(a))
	a.exit()
	assert.Equal(t, 0, pooled(a), "the exited loop's pool was kept")
	require.Eventually(t, func() bool { return closed.Load() == 1 }, time.Minute, time.Millisecond,
		"the exited loop's pooled connection was not closed")
	err := send(a)
	require.ErrorIs(t, err, net.ErrClosed)
	assert.Equal(t, 2, a.dials)
	assert.Equal(t, 0, pooled(a), "a connection of an exited loop was pooled")
	require.NoError(t, send(b))
	assert.Equal(t, 1, b.registered)
	c.CloseIdleConnections()
	assert.Equal(t, 1, b.canceled, "CloseIdleConnections left the loop's watch")
	assert.Equal(t, 0, a.canceled, "the exited loop's watch was canceled")
}
