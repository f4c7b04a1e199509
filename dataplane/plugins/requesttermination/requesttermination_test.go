package requesttermination_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/plugins/requesttermination"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestRequestTermination(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		cfg        map[string]any
		target     string
		header     string
		passes     bool
		wantStatus int
		wantType   string
		wantBody   string
		// emptyHeader sends the trigger header with an empty value.
		emptyHeader bool
		wantEmpty   bool
		wantLength  string
		noType      bool
		noLength    bool
	}{
		// spec/03-plugins/14-request-termination/02-access_spec.lua: the
		// bodies of kong.response.exit, {"message": …} as cjson encodes it.
		{desc: "default", wantStatus: 503, wantType: "application/json; charset=utf-8", wantBody: `{"message":"Service unavailable"}`},
		{desc: "status with default message", cfg: map[string]any{"status_code": 404}, wantStatus: 404, wantBody: `{"message":"Not found"}`},
		{desc: "message", cfg: map[string]any{"status_code": 406, "message": "Invalid"}, wantStatus: 406, wantBody: `{"message":"Invalid"}`},
		{desc: "slash escaped as cjson does", cfg: map[string]any{"status_code": 403, "message": "a/b"}, wantStatus: 403, wantBody: `{"message":"a\/b"}`},
		// kong/plugins/request-termination/handler.lua: no message for the
		// status (403 is not in DEFAULT_RESPONSE), so no body at all.
		{desc: "status without default message", cfg: map[string]any{"status_code": 403}, wantStatus: 403, wantEmpty: true, wantLength: "0"},
		// "returns 204 without content length header"
		{desc: "204 without content length", cfg: map[string]any{"status_code": 204}, wantStatus: 204, wantEmpty: true, noLength: true},
		{desc: "raw body", cfg: map[string]any{"status_code": 451, "body": "<h1>hi</h1>", "content_type": "text/html"},
			wantStatus: 451, wantType: "text/html", wantBody: "<h1>hi</h1>"},
		{desc: "raw body without content type", cfg: map[string]any{"body": `{"code": 1, "message": "Service unavailable"}`},
			wantStatus: 503, wantBody: `{"code": 1, "message": "Service unavailable"}`, noType: true},
		{desc: "trigger absent", cfg: map[string]any{"trigger": "x-stop"}, passes: true},
		{desc: "trigger header", cfg: map[string]any{"trigger": "x-stop"}, header: "X-Stop", wantStatus: 503},
		{desc: "trigger header, empty value", cfg: map[string]any{"trigger": "x-stop"}, header: "X-Stop", emptyHeader: true, wantStatus: 503},
		{desc: "trigger with underscore, dashed header", cfg: map[string]any{"trigger": "x_stop"}, header: "X-Stop", wantStatus: 503},
		{desc: "trigger query", cfg: map[string]any{"trigger": "x-stop"}, target: "/?x-stop=1", wantStatus: 503},
		{desc: "trigger query flag", cfg: map[string]any{"trigger": "x-stop"}, target: "/?x-stop", wantStatus: 503},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", requesttermination.Name, tt.cfg)}
			target := tt.target
			if target == "" {
				target = "/"
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			if tt.header != "" {
				v := "1"
				if tt.emptyHeader {
					v = ""
				}
				r.Header.Set(tt.header, v)
			}
			res := plugintest.Run(t, plugintest.Registry(requesttermination.Name, requesttermination.New), cfg, r, nil)
			if tt.passes {
				require.Nil(t, res.Response)
				return
			}
			require.NotNil(t, res.Response)
			require.Equal(t, tt.wantStatus, res.Response.Status)
			if tt.wantType != "" {
				require.Equal(t, tt.wantType, res.Response.Header.Get("Content-Type"))
			}
			if tt.wantBody != "" {
				require.Equal(t, tt.wantBody, string(res.Response.Body))
			}
			if tt.wantEmpty {
				require.Empty(t, res.Response.Body)
				require.Empty(t, res.Response.Header.Get("Content-Type"))
			}
			if tt.noLength {
				require.NotContains(t, res.Response.Header, "Content-Length")
			}
			if tt.wantLength != "" {
				require.Equal(t, tt.wantLength, res.Response.Header.Get("Content-Length"))
			}
			if tt.noType {
				ct, ok := res.Response.Header["Content-Type"]
				require.True(t, ok, "a nil Content-Type keeps net/http from guessing one")
				require.Nil(t, ct)
			}
		})
	}
}

// TestEcho compares the echoed request as
// spec/03-plugins/14-request-termination/02-access_spec.lua ("echos a
// request if no trigger is set") does.
func TestEcho(t *testing.T) {
	t.Parallel()
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", requesttermination.Name, map[string]any{"echo": true, "status_code": 404})}
	r := httptest.NewRequest(http.MethodGet, "/status/200?hello=there", strings.NewReader("cool body"))
	r.Host = "API9.request-termination.test:9000"
	r.Header.Set("Content-Length", "9") // as net/http's server leaves it
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}))
	res := plugintest.Run(t, plugintest.Registry(requesttermination.Name, requesttermination.New), cfg, r, nil,
		plugintest.WithCaptures(map[string]string{"0": "/status/200", "1": "status", "parameter": "status"}))
	require.NotNil(t, res.Response)
	require.Equal(t, http.StatusNotFound, res.Response.Status)
	var doc struct {
		Message string         `json:"message"`
		Request map[string]any `json:"request"`
		Route   struct {
			ID string `json:"id"`
		} `json:"matched_route"`
		Kong map[string]any `json:"kong"`
	}
	require.NoError(t, json.Unmarshal(res.Response.Body, &doc))
	require.Equal(t, "Not found", doc.Message)
	require.Equal(t, plugintest.RouteID, doc.Route.ID)
	require.Contains(t, doc.Kong, "worker_pid")
	require.Equal(t, map[string]any{
		"headers":      map[string]any{"content-length": "9", "host": "API9.request-termination.test:9000"},
		"host":         "api9.request-termination.test",
		"method":       "GET",
		"path":         "/status/200",
		"port":         float64(9000),
		"query":        map[string]any{"hello": "there"},
		"raw_body":     "cool body",
		"scheme":       "http",
		"uri_captures": map[string]any{"named": map[string]any{"parameter": "status"}, "unnamed": []any{"status"}},
	}, doc.Request)
}

// TestEchoShapes: a JSON body is echoed parsed, a message only when one
// applies, empty captures as empty tables.
func TestEchoShapes(t *testing.T) {
	t.Parallel()
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", requesttermination.Name, map[string]any{"echo": true, "status_code": 200})}
	r := httptest.NewRequest(http.MethodPost, "/x?flag&a=1&a=2", strings.NewReader(`{"k":[1,"v"]}`))
	r.Header.Set("Content-Type", "application/json")
	res := plugintest.Run(t, plugintest.Registry(requesttermination.Name, requesttermination.New), cfg, r, nil)
	require.NotNil(t, res.Response)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(res.Response.Body, &doc))
	require.NotContains(t, doc, "message", "200 has no default message")
	req := doc["request"].(map[string]any)
	require.Equal(t, map[string]any{"k": []any{float64(1), "v"}}, req["body"])
	require.Equal(t, map[string]any{"flag": true, "a": []any{"1", "2"}}, req["query"])
	require.Equal(t, map[string]any{"named": map[string]any{}, "unnamed": []any{}}, req["uri_captures"])
	require.False(t, strings.HasSuffix(string(res.Response.Body), "\n"))
}

// TestEchoMultipart: a multipart body is echoed as kong.request.get_body()
// reads it, a repeated name as a list, a file part by its content.
func TestEchoMultipart(t *testing.T) {
	t.Parallel()
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", requesttermination.Name, map[string]any{"echo": true, "status_code": 200})}
	body := "--eB\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" +
		"--eB\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\n\r\nfile\r\n" +
		"--eB\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--eB--\r\n"
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=eB")
	res := plugintest.Run(t, plugintest.Registry(requesttermination.Name, requesttermination.New), cfg, r, nil)
	require.NotNil(t, res.Response)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(res.Response.Body, &doc))
	req := doc["request"].(map[string]any)
	require.Equal(t, map[string]any{"a": []any{"1", "2"}, "f": "file"}, req["body"])
	require.Equal(t, body, req["raw_body"])
}
