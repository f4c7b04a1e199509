package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// tunneling is an upstream that switches protocols: to what it is asked
// for when switchTo is empty, else always to switchTo. Past the switch it
// answers plain HTTP/1.1 requests read from the connection with
// "tunneled <path>": what a client could reach past the proxy's routing
// and plugins if the proxy forwarded the upgrade. Requests without an
// upgrade are echoed when switchTo is empty.
func tunneling(switchTo string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		up := r.Header.Get("Upgrade")
		if switchTo != "" {
			up = switchTo
		}
		if up == "" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"uri":%q,"upgrade":%q,"connection":%q}`, r.URL.Path, r.Header.Get("Upgrade"), r.Header.Get("Connection"))
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", up)
		_ = rw.Flush()
		for {
			req, err := http.ReadRequest(rw.Reader)
			if err != nil {
				return
			}
			body := "tunneled " + req.URL.Path
			_, _ = fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			_ = rw.Flush()
		}
	}
}

func TestUpgrades(t *testing.T) {
	t.Parallel()
	asks := newBackend(t, "asks", tunneling(""))
	h2c := newBackend(t, "h2c", tunneling("h2c"))
	wsOnly := func(r *model.Route) { r.Protocols = []string{"ws"} }
	tests := []struct {
		desc       string
		up         *backend
		routeOpts  []func(*model.Route)
		head       string
		wantStatus int
		// then is sent on the same connection after the first answer.
		then, wantThen string
	}{
		// kong/runloop/handler.lua forwards Upgrade only for websocket: an
		// h2c upgrade is proxied as a plain request, and what follows on
		// the connection is routed again.
		{desc: "h2c is not forwarded", up: asks,
			head:       "GET /open HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
			wantStatus: http.StatusOK, then: "GET /secret HTTP/1.1\r\nHost: x\r\n\r\n", wantThen: `"uri":"/secret","upgrade":""`},
		{desc: "an unknown upgrade is not forwarded", up: asks,
			head: "GET /open HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: tunnel/1\r\n\r\n", wantStatus: http.StatusOK},
		{desc: "websocket without Connection: upgrade is not an upgrade", up: asks,
			head: "GET /open HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", wantStatus: http.StatusOK},
		{desc: "a switch nobody asked for is refused", up: h2c,
			head: "GET /open HTTP/1.1\r\nHost: x\r\n\r\n", wantStatus: http.StatusBadGateway},
		{desc: "a switch to another protocol than the one asked is refused", up: h2c,
			head:       "GET /open HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
			wantStatus: http.StatusBadGateway},
		{desc: "a ws route does not serve plain HTTP", up: asks, routeOpts: []func(*model.Route){wsOnly},
			head: "GET /open HTTP/1.1\r\nHost: x\r\n\r\n", wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			e := edgeTo(t, tt.up.addr, proxy.Limits{}, tt.routeOpts...)
			conn, err := net.Dial("tcp", e.addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, tt.head)
			require.NoError(t, err)
			rd := bufio.NewReader(conn)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			res, err := http.ReadResponse(rd, nil)
			require.NoError(t, err)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			require.Equal(t, tt.wantStatus, res.StatusCode, string(body))
			if tt.wantStatus == http.StatusOK {
				assert.Contains(t, string(body), `"upgrade":""`, "the upstream was not asked to switch")
				assert.NotContains(t, strings.ToLower(string(body)), `"connection":"upgrade`)
			}
			if tt.then == "" {
				return
			}
			_, err = io.WriteString(conn, tt.then)
			require.NoError(t, err)
			res, err = http.ReadResponse(rd, nil)
			require.NoError(t, err)
			body, _ = io.ReadAll(res.Body)
			res.Body.Close()
			assert.Contains(t, string(body), tt.wantThen)
		})
	}
}

// TestWebSocketRoutes: WebSocket reaches the upstream on routes for
// http (as Kong) and for ws.
func TestWebSocketRoutes(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_ = c.Write(r.Context(), websocket.MessageText, []byte("hello "+r.URL.Path))
	}))
	for _, protocols := range [][]string{{"http"}, {"ws"}, {"http", "ws"}} {
		t.Run(strings.Join(protocols, ","), func(t *testing.T) {
			t.Parallel()
			e := edgeTo(t, b.addr, proxy.Limits{}, func(r *model.Route) { r.Protocols = protocols })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, res, err := websocket.Dial(ctx, "ws://"+e.addr+"/chat", nil)
			require.NoError(t, err)
			defer c.CloseNow()
			assert.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
			_, msg, err := c.Read(ctx)
			require.NoError(t, err)
			assert.Equal(t, "hello /chat", string(msg))
		})
	}
}
