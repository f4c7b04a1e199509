package plugins_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

// raw sends one request through front and returns the response and its
// whole body; redirects are not followed.
func raw(t *testing.T, front interface{ Client() *http.Client }, method, url string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header[k] = v
	}
	c := *front.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func TestEndToEndRedirect(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	tests := []struct {
		desc     string
		cfg      map[string]any
		path     string
		status   int
		location string
	}{
		{desc: "fixed location", cfg: map[string]any{"location": "https://example.com/new?x=1"},
			path: "/api/old?q=2", status: http.StatusMovedPermanently, location: "https://example.com/new?x=1"},
		{desc: "keep incoming path", cfg: map[string]any{"location": "https://example.com:9443/ignored?x=1#frag",
			"keep_incoming_path": true, "status_code": 302},
			path: "/api/a%20b?q=2", status: http.StatusFound, location: "https://example.com:9443/api/a%20b?q=2#frag"},
		{desc: "keep incoming path without a query", cfg: map[string]any{"location": "http://example.com/x?y=1",
			"keep_incoming_path": true, "status_code": 307},
			path: "/api/p", status: http.StatusTemporaryRedirect, location: "http://example.com/api/p"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			cfg := snapshot(t, host, port, false)
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-redirect", "redirect", tc.cfg)}
			front := serve(t, cfg)
			res, body := raw(t, front, http.MethodGet, front.URL+tc.path, nil)
			require.Equal(t, tc.status, res.StatusCode)
			require.Equal(t, tc.location, res.Header.Get("Location"))
			require.Equal(t, "redirecting", body)
			require.Empty(t, res.Header.Values("Content-Type"))
		})
	}
}

func TestEndToEndBotDetection(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-bot", "bot-detection", map[string]any{
		"allow": []any{`^curl/`, `Googlebot/2\.1`},
		"deny":  []any{`^evil-agent`},
	})}
	front := serve(t, cfg)
	tests := []struct {
		desc   string
		ua     []string
		status int
		body   string
	}{
		{desc: "no user agent", ua: nil, status: http.StatusOK},
		{desc: "a browser", ua: []string{"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"}, status: http.StatusOK},
		{desc: "a known bot", ua: []string{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"},
			status: http.StatusForbidden, body: plugintest.ErrorJSON("Forbidden")},
		{desc: "Go's client is a bot to Kong", ua: []string{"Go-http-client/1.1"}, status: http.StatusForbidden},
		{desc: "an allowed bot", ua: []string{"Googlebot/2.1 (+http://www.google.com/bot.html)"}, status: http.StatusOK},
		{desc: "allow wins over the bot list", ua: []string{"curl/8.5.0"}, status: http.StatusOK},
		{desc: "denied by config", ua: []string{"evil-agent/1.0"}, status: http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tc.ua == nil {
				h["User-Agent"] = []string{""}
			} else {
				h["User-Agent"] = tc.ua
			}
			res, body := raw(t, front, http.MethodGet, front.URL+"/api/x", h)
			require.Equal(t, tc.status, res.StatusCode, body)
			if tc.body != "" {
				require.JSONEq(t, tc.body, withRequestID(body, res))
			}
		})
	}
	t.Run("two user agents", func(t *testing.T) {
		t.Parallel()
		res, body := wire(t, front.Listener.Addr().String(),
			"GET /api/x HTTP/1.1\r\nHost: h\r\nUser-Agent: a\r\nUser-Agent: b\r\nConnection: close\r\n\r\n")
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		require.JSONEq(t, plugintest.ErrorJSON("Only one User-Agent header allowed"), withRequestID(body, res))
	})
}

// wire writes a raw request to addr and reads the response, for requests
// Go's client will not send (repeated singleton headers).
func wire(t *testing.T, addr, request string) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// withRequestID returns body with the response's request id replaced by
// plugintest.RequestID, to compare with plugintest's bodies.
func withRequestID(body string, res *http.Response) string {
	return strings.ReplaceAll(body, res.Header.Get("X-Kong-Request-Id"), plugintest.RequestID)
}
