package plugins_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestConnectionCannotStripIdentity: the client's Connection header names
// hop-by-hop fields, removed before the plugins run; the identity headers
// the authentication plugins set reach the upstream whatever it names.
func TestConnectionCannotStripIdentity(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.KeyAuths = []*model.KeyAuth{{Base: model.Base{ID: "cred-alice"}, Key: aliceKey, Consumer: &model.Ref{ID: plugintest.AliceID}}}
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-key", "key-auth", map[string]any{"anonymous": "bob"})}
	front := serve(t, cfg)
	named := "X-Consumer-Username, X-Consumer-ID, X-Credential-Identifier, X-Anonymous-Consumer, X-Spoofed"

	_, body := send(t, front, http.MethodGet, "/api", map[string]string{"apikey": aliceKey, "Connection": named,
		"X-Spoofed": "1", "X-Consumer-Username": "root"})
	headers := body["headers"].(map[string]any)
	require.Equal(t, []any{"alice"}, headers["X-Consumer-Username"])
	require.Equal(t, []any{plugintest.AliceID}, headers["X-Consumer-Id"])
	require.Equal(t, []any{"cred-alice"}, headers["X-Credential-Identifier"])
	require.Nil(t, headers["X-Spoofed"], "a field the client named is hop-by-hop")
	require.Nil(t, headers["Connection"])

	_, body = send(t, front, http.MethodGet, "/api", map[string]string{"Connection": named, "X-Anonymous-Consumer": "false"})
	headers = body["headers"].(map[string]any)
	require.Equal(t, []any{"true"}, headers["X-Anonymous-Consumer"])
	require.Equal(t, []any{"bob"}, headers["X-Consumer-Username"])
}

// TestUpgradeCannotBypassAuth: an h2c upgrade on an open route is not
// forwarded, so the connection cannot become a tunnel to the upstream
// past the route guarded by key-auth; what follows is routed again.
func TestUpgradeCannotBypassAuth(t *testing.T) {
	t.Parallel()
	// The upstream switches protocols whenever asked and then serves
	// plain HTTP/1.1 from the switched connection.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			_, _ = fmt.Fprintf(w, "plain %s", r.URL.Path)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", r.Header.Get("Upgrade"))
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
	}))
	t.Cleanup(up.Close)
	h, p, err := net.SplitHostPort(up.Listener.Addr().String())
	require.NoError(t, err)
	var port int
	_, err = fmt.Sscan(p, &port)
	require.NoError(t, err)
	cfg := snapshot(t, h, port, false)
	open := model.NewRoute()
	open.ID, open.Name, open.Paths, open.Service = "route-open", new("open"), []string{"/open"}, &model.Ref{ID: plugintest.ServiceID}
	open.StripPath = false
	cfg.Routes = append(cfg.Routes, open)
	cfg.Routes[0].Paths, cfg.Routes[0].StripPath = []string{"/secret"}, false
	keyAuth := plugintest.Plugin(t, "p-key", "key-auth", nil)
	keyAuth.Route = &model.Ref{ID: plugintest.RouteID}
	cfg.Plugins = []*model.Plugin{keyAuth}
	front := serve(t, cfg)

	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	rd := bufio.NewReader(conn)
	exchange := func(req string) (int, string) {
		_, err := io.WriteString(conn, req)
		require.NoError(t, err)
		res, err := http.ReadResponse(rd, nil)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	status, body := exchange("GET /open HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
	require.Equal(t, http.StatusOK, status, "proxied as a plain request, not switched")
	require.Equal(t, "plain /open", body)
	status, body = exchange("GET /secret HTTP/1.1\r\nHost: x\r\n\r\n")
	require.Equal(t, http.StatusUnauthorized, status, body)
	require.True(t, strings.Contains(body, "No API key found in request"), body)
}
