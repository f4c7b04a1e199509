//go:build linux

package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/loop"
)

// TestLoopExitDropsPool: the upstream connections an event loop's
// requests left in a client's pool are closed and dropped when the loop
// exits (its listener closed, its last connection ended), not kept until
// a request of that loop, which never comes, takes or expires them.
func TestLoopExitDropsPool(t *testing.T) {
	t.Parallel()
	// home: the upstream is the client's home address, whose pools are
	// reached without the map.
	for _, home := range []bool{false, true} {
		t.Run(fmt.Sprintf("home=%v", home), func(t *testing.T) {
			t.Parallel()
			loopExitDropsPool(t, home)
		})
	}
}

func loopExitDropsPool(t *testing.T, home bool) {
	upClosed := make(chan struct{}, 1)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			upClosed <- struct{}{}
		}
	}
	up.Start()
	defer up.Close()
	upAddr := up.Listener.Addr().String()
	c := newH1Client("http", func(context.Context, string, string) (net.Conn, error) {
		t.Error("a loop's request dialed on Go's netpoller")
		return nil, net.ErrClosed
	})
	c.ownDial = func(o connOwner, ap netip.AddrPort) (net.Conn, error) { return o.Dial(ap, time.Minute) }
	if home {
		c.setHome(upAddr)
	}
	defer c.CloseIdleConnections()
	// pooled counts the idle connections of event loops.
	pooled := func() int { return c.idleCount(func(k poolKey) bool { return k.owner != nil }) }

	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer ln.Close()
	sent := make(chan error, 1)
	g, err := loop.Serve(ln, 1, func(lc *loop.Conn) {
		defer lc.Close()
		l, _ := loop.Of(lc)
		res, err := c.send(context.Background(), &exchange{owner: loopOwner{l}}, upAddr, http.MethodGet,
			rawHead("GET / HTTP/1.1\r\nHost: up\r\n\r\n"), nil)
		if err == nil {
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		sent <- err
	})
	require.NoError(t, err)
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	select {
	case err := <-sent:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("the loop's request was not sent")
	}
	require.Equal(t, 1, pooled(), "the loop's upstream connection is pooled")

	require.NoError(t, g.Close())
	g.Wait()
	assert.Zero(t, pooled(), "the exited loop's pool was dropped")
	c.mu.Lock()
	assert.Empty(t, c.owners, "the exited loop is forgotten")
	c.mu.Unlock()
	select {
	case <-upClosed:
	case <-time.After(time.Minute):
		t.Fatal("the upstream connection stayed open")
	}
}
