package proxy_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/loop"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestEventLoopServing: with Options.EventLoop on, a plain listener's
// connections are served by event loops; a request the native path
// carries to an IP target leaves its connection on the loop, and one
// that takes the adapter path (a body) or dials a host name moves it to
// Go's netpoller first; each is answered. With it off, connections are
// Go's netpoller's.
func TestEventLoopServing(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Log("event loops run on Linux only")
		return
	}
	b := newBackend(t, "b", nil)
	tests := []struct {
		desc, setting, path, raw string
		// onLoop: the connection is a loop's after the request.
		onLoop bool
	}{
		{"native, IP target", "on", "/ip", "GET /ip HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"adapter, body", "on", "/ip", "POST /ip HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", false},
		{"native, host name target", "on", "/name", "GET /name HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"off", "off", "/ip", "GET /ip HTTP/1.1\r\nHost: x\r\n\r\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			px := proxy.New(proxy.Options{Version: "test", Log: slog.New(slog.DiscardHandler), EventLoop: tc.setting,
				RetireTimeout: 5 * time.Second})
			byName := service("name", "localhost", b.port(), "")
			cfg := &model.Config{
				Services: []*model.Service{service("ip", b.host(), b.port(), ""), byName},
				Routes:   []*model.Route{route("ip", "ip", "/ip"), route("name", "name", "/name")},
			}
			require.NoError(t, px.Apply(context.Background(), cfg, 1, "test"))
			f := px.Frontend(nil)
			// Whether the connection is a loop's each time it waits for
			// a request.
			idle := make(chan bool, 4)
			f.ConnState = func(c net.Conn, st http.ConnState) {
				if st == http.StateIdle {
					_, ok := loop.Of(c)
					idle <- ok
				}
			}
			front := proxytest.New(t, f)
			t.Cleanup(func() {
				// The proxy first: its idle upstream connections are
				// closed while their loops run.
				px.Close()
				front.Close()
			})
			conn, err := net.Dial("tcp", strings.TrimPrefix(front.URL, "http://"))
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
			assert.Equal(t, tc.setting == "on", <-idle, "a new connection")
			_, err = io.WriteString(conn, tc.raw)
			require.NoError(t, err)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
			assert.Equal(t, tc.onLoop, <-idle, "after the request")
		})
	}
}
