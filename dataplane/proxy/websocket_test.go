package proxy_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// wsEcho is a WebSocket echo server: every message comes back prefixed
// with the request's path and its X-Tagged header; how each connection
// ended goes to closed.
type wsEcho struct {
	srv    *httptest.Server
	closed chan websocket.StatusCode
}

func newWSEcho(t *testing.T, secure bool) *wsEcho {
	t.Helper()
	e := &wsEcho{closed: make(chan websocket.StatusCode, 16)}
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		prefix := r.URL.Path + ":" + r.Header.Get("X-Tagged") + ":"
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				e.closed <- websocket.CloseStatus(err)
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte(prefix), msg...)); err != nil {
				return
			}
		}
	}))
	if secure {
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	t.Cleanup(e.srv.Close)
	return e
}

// service returns a service to the echo server with protocol proto.
func (e *wsEcho) service(t *testing.T, id, proto string) *model.Service {
	t.Helper()
	host, p, err := net.SplitHostPort(e.srv.Listener.Addr().String())
	require.NoError(t, err)
	port, err := strconv.Atoi(p)
	require.NoError(t, err)
	s := service(id, host, port, "/echo")
	s.Protocol = proto
	return s
}

// wsProxy serves cfg with the phases plugin (X-Allow required at the
// handshake) on a plain and a TLS listener.
func wsProxy(t *testing.T, cfg *model.Config) (plain, secure *listener) {
	t.Helper()
	reg := plugin.NewRegistry()
	reg.Register("phases", func(plugin.Env) (plugin.Handler, error) { return &phases{}, nil })
	cfg.Plugins = append(cfg.Plugins, &model.Plugin{Base: model.Base{ID: "p"}, Name: "phases", Enabled: true})
	px, _ := newProxy(t, cfg, func(o *proxy.Options) { o.Registry = reg })
	return serveProxy(t, px, false), serveProxy(t, px, true)
}

// dialWS opens a WebSocket through l to path, with X-Allow when allow.
func dialWS(ctx context.Context, t *testing.T, l *listener, path string, allow bool) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if allow {
		h.Set("X-Allow", "1")
	}
	u := "ws" + strings.TrimPrefix(l.url(), "http") + path
	c, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: l.client(t, true, false, false), HTTPHeader: h})
	if c != nil {
		c.SetReadLimit(1 << 20)
		t.Cleanup(func() { _ = c.CloseNow() })
	}
	return c, res, err
}

func TestWebSocketProtocols(t *testing.T) {
	t.Parallel()
	plainUp, tlsUp := newWSEcho(t, false), newWSEcho(t, true)
	wsRoute := func(id, svc string, protocols ...string) *model.Route {
		r := route(id, svc, "/"+id)
		r.Protocols = protocols
		return r
	}
	cfg := &model.Config{
		Services: []*model.Service{plainUp.service(t, "ws", "ws"), tlsUp.service(t, "wss", "wss"),
			plainUp.service(t, "http", "http")},
		Routes: []*model.Route{wsRoute("ws", "ws", "ws"), wsRoute("wss", "wss", "wss"),
			wsRoute("both", "ws", "ws", "wss"), wsRoute("http", "http", "http", "https")},
	}
	plain, secure := wsProxy(t, cfg)
	t.Run("cases", func(t *testing.T) { webSocketCases(t, plain, secure) })
	// Every connection that reached an upstream ended with the client's
	// close frame, relayed.
	for range 5 {
		select {
		case code := <-plainUp.closed:
			assert.Equal(t, websocket.StatusNormalClosure, code)
		case code := <-tlsUp.closed:
			assert.Equal(t, websocket.StatusNormalClosure, code)
		case <-time.After(30 * time.Second):
			t.Fatal("an upstream never saw its connection closed")
		}
	}
}

func webSocketCases(t *testing.T, plain, secure *listener) {
	for _, tc := range []struct {
		desc string
		l    *listener
		path string
		// status is the handshake's answer when it is refused.
		status int
	}{
		{desc: "a ws route and a ws service", l: plain, path: "/ws"},
		{desc: "a wss route over TLS to a wss service", l: secure, path: "/wss"},
		{desc: "a ws and wss route over TLS", l: secure, path: "/both"},
		{desc: "a ws and wss route without TLS", l: plain, path: "/both"},
		{desc: "an http route takes WebSocket, as Kong's", l: plain, path: "/http"},
		{desc: "a wss route refuses WebSocket without TLS", l: plain, path: "/wss", status: http.StatusNotFound},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if tc.status != 0 {
				_, res, err := dialWS(ctx, t, tc.l, tc.path, true)
				require.Error(t, err)
				require.NotNil(t, res)
				assert.Equal(t, tc.status, res.StatusCode)
				return
			}
			_, res, err := dialWS(ctx, t, tc.l, tc.path, false)
			require.Error(t, err, "the plugins run at the handshake")
			require.NotNil(t, res)
			assert.Equal(t, http.StatusForbidden, res.StatusCode)

			c, res, err := dialWS(ctx, t, tc.l, tc.path, true)
			require.NoError(t, err)
			assert.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
			assert.Equal(t, "Switching Protocols", res.Header.Get("X-Phase-Status"), "header filters run on the handshake's answer")
			big := []byte(strings.Repeat("x", 200<<10))
			for _, m := range []struct {
				typ websocket.MessageType
				msg []byte
			}{{websocket.MessageText, []byte("one")}, {websocket.MessageBinary, []byte{0, 1, 2, 255}},
				{websocket.MessageBinary, big}} {
				require.NoError(t, c.Write(ctx, m.typ, m.msg))
				typ, got, err := c.Read(ctx)
				require.NoError(t, err)
				assert.Equal(t, m.typ, typ)
				assert.Equal(t, append([]byte("/echo:yes:"), m.msg...), got, "a frame both ways, the access phase's header upstream")
			}
			require.NoError(t, c.Close(websocket.StatusNormalClosure, "bye"), "the close handshake goes through")
		})
	}
}

// TestWebSocketIdleTimeout: an upgraded connection the upstream sends
// nothing on for the service's read_timeout is closed, as nginx's
// proxy_read_timeout closes it; traffic keeps it open.
func TestWebSocketIdleTimeout(t *testing.T) {
	t.Parallel()
	up := newWSEcho(t, false)
	svc := up.service(t, "ws", "ws")
	svc.ReadTimeout = 1000
	r := route("r", "ws", "/")
	r.Protocols = []string{"ws"}
	plain, _ := wsProxy(t, &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{r}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := dialWS(ctx, t, plain, "/", true)
	require.NoError(t, err)
	// 1.5 s of traffic, a message every 100 ms: longer than the timeout.
	for range 15 {
		require.NoError(t, c.Write(ctx, websocket.MessageText, []byte("ping")))
		_, _, err := c.Read(ctx)
		require.NoError(t, err, "traffic keeps the connection open")
		time.Sleep(100 * time.Millisecond)
	}
	_, _, err = c.Read(ctx)
	require.Error(t, err, "the idle connection is closed")
	assert.False(t, errors.Is(err, context.DeadlineExceeded), "closed by the proxy, not the test's deadline: %v", err)
}
