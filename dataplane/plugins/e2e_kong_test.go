package plugins_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestHeaderFiltersAfterAnExit: plugins after the one that answered still
// run their header and body filters on its answer, as Kong's collecting
// iterator goes on collecting after a delayed response
// (kong/init.lua execute_collecting_plugins_iterator,
// kong/runloop/plugins_iterator.lua get_next_and_collect).
func TestHeaderFiltersAfterAnExit(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{
		plugintest.Plugin(t, "p-key", "key-auth", nil),
		plugintest.Plugin(t, "p-rt", "response-transformer", map[string]any{
			"add": map[string]any{"headers": []any{"x-after:exit"}, "json": []any{"hint:use a key"}}}),
	}
	front := serve(t, cfg)
	res, body := send(t, front, http.MethodGet, "/api", map[string]string{"Accept": "application/json"})
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Equal(t, "exit", res.Header.Get("X-After"))
	require.Equal(t, "No API key found in request", body["message"])
	require.Equal(t, "use a key", body["hint"], "the body filter ran on the 401 too")
	require.Equal(t, strconv.Itoa(int(res.ContentLength)), res.Header.Get("Content-Length"))
}

// TestGlobalPluginsOnNoRoute: a request no route matches still gets the
// global plugins' header filters (kong/runloop/plugins_iterator.lua:
// get_collected_iterator falls back to the global plugins).
func TestGlobalPluginsOnNoRoute(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	onRoute := plugintest.Plugin(t, "p-route", "response-transformer", map[string]any{"add": map[string]any{"headers": []any{"x-route:1"}}})
	onRoute.Route = &model.Ref{ID: plugintest.RouteID}
	cfg.Plugins = []*model.Plugin{
		plugintest.Plugin(t, "p-global", "cors", nil),
		onRoute,
	}
	front := serve(t, cfg)
	res, body := send(t, front, http.MethodGet, "/nowhere", map[string]string{"Origin": "https://a.test"})
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Equal(t, "no Route matched with those values", body["message"])
	require.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
	require.Empty(t, res.Header.Get("X-Route"))
	require.NotEmpty(t, res.Header.Get("X-Kong-Response-Latency"))
}

// TestErrorNegotiation: kong.response.error bodies follow the Accept
// header (kong/pdk/response.lua, kong/tools/http.lua's templates) and
// carry the request id also sent as X-Kong-Request-Id.
func TestErrorNegotiation(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-key", "key-auth", nil)}
	front := serve(t, cfg)
	const msg = "No API key found in request"
	tests := []struct{ accept, contentType, body string }{
		{"", "application/json; charset=utf-8", "{\n  \"message\":\"" + msg + "\",\n  \"request_id\":\"%s\"\n}"},
		{"text/plain", "text/plain; charset=utf-8", msg + "\nrequest_id: %s\n"},
		{"text/html;q=0.9, application/xml", "application/xml; charset=utf-8",
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>" + msg + "</message>\n  <requestid>%s</requestid>\n</error>\n"},
		{"text/*", "text/plain; charset=utf-8", msg + "\nrequest_id: %s\n"},
		{"application/xml;q=0.2, text/html", "text/html; charset=utf-8", "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n" +
			"    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>" + msg + ".</p>\n    <p>request_id: %s</p>\n  </body>\n</html>\n"},
	}
	for _, tc := range tests {
		req, err := http.NewRequest(http.MethodGet, front.URL+"/api", nil)
		require.NoError(t, err)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		res, err := front.Client().Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		rid := res.Header.Get("X-Kong-Request-Id")
		require.Regexp(t, `^[0-9a-f]{32}$`, rid)
		require.Equal(t, tc.contentType, res.Header.Get("Content-Type"), tc.accept)
		require.Equal(t, strings.ReplaceAll(tc.body, "%s", rid), string(b), tc.accept)
	}
}

// TestCORSStar: origins ["*"] and "*" among other origins are applied, as
// Kong's schema allows them (a data plane used to refuse the snapshot).
func TestCORSStar(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	for _, origins := range [][]any{{"*"}, {"https://a.test", "*"}} {
		cfg := snapshot(t, host, port, false)
		cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-cors", "cors", map[string]any{"origins": origins})}
		front := serve(t, cfg)
		res, _ := send(t, front, http.MethodGet, "/api", map[string]string{"Origin": "https://b.test"})
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"), origins)
	}
}

// TestTrackerCountsConnections: correlation-id's tracker names the
// connection and its request count (nginx's $connection and
// $connection_requests, kong/plugins/correlation-id/handler.lua).
func TestTrackerCountsConnections(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-cid", "correlation-id",
		map[string]any{"generator": "tracker", "echo_downstream": true})}
	front := serve(t, cfg)
	_, listenPort, err := net.SplitHostPort(front.Listener.Addr().String())
	require.NoError(t, err)
	tracker := regexp.MustCompile(`^127\.0\.0\.1-` + listenPort + `-` + strconv.Itoa(os.Getpid()) + `-(\d+)-(\d+)-\d{10}\.\d{3}$`)
	ids := func(n int) [][]string {
		conn, err := net.Dial("tcp", front.Listener.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		br := bufio.NewReader(conn)
		var out [][]string
		for range n {
			_, err := io.WriteString(conn, "GET /api HTTP/1.1\r\nHost: x.test\r\n\r\n")
			require.NoError(t, err)
			res, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			m := tracker.FindStringSubmatch(res.Header.Get("Kong-Request-ID"))
			require.NotNil(t, m, res.Header.Get("Kong-Request-ID"))
			out = append(out, m[1:])
		}
		return out
	}
	first := ids(2)
	require.Equal(t, first[0][0], first[1][0], "one connection")
	require.Equal(t, []string{"1", "2"}, []string{first[0][1], first[1][1]})
	second := ids(1)
	require.NotEqual(t, first[0][0], second[0][0], "another connection")
	require.Equal(t, "1", second[0][1])
}

// TestExpectContinueTooLarge: a client waiting for "100 Continue" with a
// declared body over the limit is answered 417 at once, its body never
// read (kong/plugins/request-size-limiting/handler.lua).
func TestExpectContinueTooLarge(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-size", "request-size-limiting",
		map[string]any{"allowed_payload_size": 1, "size_unit": "kilobytes"})}
	front := serve(t, cfg)
	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /api HTTP/1.1\r\nHost: x.test\r\nContent-Length: 4096\r\nExpect: 100-continue\r\nAccept: application/json\r\n\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusExpectationFailed, res.StatusCode)
	var body map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	require.Equal(t, "Request size limit exceeded", body["message"])
}

// TestEchoThroughTheProxy: request-termination's echo reports the host
// without its port and the port the request came to.
func TestEchoThroughTheProxy(t *testing.T) {
	t.Parallel()
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-rt", "request-termination", map[string]any{"echo": true, "status_code": 200})}
	front := serve(t, cfg)
	_, listenPort, err := net.SplitHostPort(front.Listener.Addr().String())
	require.NoError(t, err)
	res, body := send(t, front, http.MethodGet, "/api?hello=there", map[string]string{"Host": "Echo.Test:1234"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	req := body["request"].(map[string]any)
	require.Equal(t, "echo.test", req["host"])
	require.Equal(t, listenPort, strconv.Itoa(int(req["port"].(float64))))
	require.Equal(t, "", req["raw_body"])
	require.Equal(t, map[string]any{"hello": "there"}, req["query"])
}
