package plugin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

const (
	typeJSON  = "application/json; charset=utf-8"
	typePlain = "text/plain; charset=utf-8"
	typeHTML  = "text/html; charset=utf-8"
	typeXML   = "application/xml; charset=utf-8"
)

// TestResponseType follows kong/tools/http.lua's get_response_type and
// the get_mime_type cases of spec/01-unit/05-utils_spec.lua.
func TestResponseType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept []string
		want   string
	}{
		{nil, typeJSON},
		{[]string{"application/json"}, typeJSON},
		{[]string{"application/json; charset=utf-8"}, typeJSON},
		{[]string{"application/*"}, typeJSON},
		{[]string{"application/*; charset=utf-8"}, typeJSON},
		{[]string{"text/html"}, typeHTML},
		{[]string{"text/plain"}, typePlain},
		{[]string{"text/*"}, typePlain},
		{[]string{"text/*; charset=utf-8"}, typePlain},
		{[]string{"application/xml"}, typeXML},
		{[]string{"*/*; charset=utf-8"}, typeJSON},
		{[]string{"*/*"}, typeJSON},
		{[]string{"application/grpc"}, ""},
		{[]string{"audio/*"}, typeJSON},
		{[]string{"text/css"}, typeJSON},
		{[]string{"default"}, typeJSON},
		{[]string{""}, typeJSON},
		// The highest quality wins; the first among equals.
		{[]string{"text/plain;q=0.5, text/html"}, typeHTML},
		{[]string{"text/html, application/xml"}, typeHTML},
		{[]string{"text/html;q=0.3, application/xml;q=0.9"}, typeXML},
		{[]string{"text/html;level=1;q=0.4, text/plain;q=0.41"}, typePlain},
		// q=0 is never chosen.
		{[]string{"text/html;q=0"}, typeJSON},
		// Several Accept fields are read as one list.
		{[]string{"text/html;q=0.1", "application/xml"}, typeXML},
		// The lookup is case-sensitive, the pattern is not.
		{[]string{"TEXT/HTML"}, typeJSON},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, plugin.ResponseType(tt.accept...), "%q", tt.accept)
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	const rid = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		desc   string
		resp   func() *plugin.Response
		header map[string]string
		status int
		ctype  string
		body   string
	}{
		{desc: "error, no Accept: JSON", resp: func() *plugin.Response { return plugin.Error(404, "no Route matched with those values") },
			status: 404, ctype: typeJSON, body: "{\n  \"message\":\"no Route matched with those values\",\n  \"request_id\":\"" + rid + "\"\n}"},
		{desc: "error, default message", resp: func() *plugin.Response { return plugin.Error(401, "") },
			status: 401, ctype: typePlain, header: map[string]string{"Accept": "text/plain"}, body: "Unauthorized\nrequest_id: " + rid + "\n"},
		{desc: "error, unknown status", resp: func() *plugin.Response { return plugin.Error(499, "") },
			status: 499, ctype: typePlain, header: map[string]string{"Accept": "text/*"}, body: "The upstream server responded with 499\nrequest_id: " + rid + "\n"},
		{desc: "error ignores the request's Content-Type", resp: func() *plugin.Response { return plugin.Error(403, "no") },
			header: map[string]string{"Content-Type": "text/plain"}, status: 403, ctype: typeJSON,
			body: "{\n  \"message\":\"no\",\n  \"request_id\":\"" + rid + "\"\n}"},
		{desc: "error page, no Accept: text/plain", resp: func() *plugin.Response { return plugin.ErrorPage(502, "") },
			status: 502, ctype: typePlain, body: "An invalid response was received from the upstream server\nrequest_id: " + rid + "\n"},
		{desc: "error page follows the request's Content-Type", resp: func() *plugin.Response { return plugin.ErrorPage(504, "") },
			header: map[string]string{"Content-Type": "text/html"}, status: 504, ctype: typeHTML,
			body: "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Error</title>\n  </head>\n  <body>\n" +
				"    <h1>Error</h1>\n    <p>The upstream server is timing out.</p>\n    <p>request_id: " + rid + "</p>\n  </body>\n</html>\n"},
		{desc: "error page, XML", resp: func() *plugin.Response { return plugin.ErrorPage(400, "") },
			header: map[string]string{"Accept": "application/xml"}, status: 400, ctype: typeXML,
			body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>Bad request</message>\n  <requestid>" + rid + "</requestid>\n</error>\n"},
		// kong/error_handlers.lua answers gRPC clients with {message = …}.
		{desc: "error page, gRPC Accept", resp: func() *plugin.Response { return plugin.ErrorPage(502, "") },
			header: map[string]string{"Accept": "application/grpc"}, status: 502, ctype: typeJSON,
			body: `{"message":"An invalid response was received from the upstream server"}`},
		// Unlike Kong, a message is escaped for its format.
		{desc: "message escaped in JSON", resp: func() *plugin.Response { return plugin.Error(429, `say "no"`) },
			status: 429, ctype: typeJSON, body: "{\n  \"message\":\"say \\\"no\\\"\",\n  \"request_id\":\"" + rid + "\"\n}"},
		{desc: "message escaped in HTML", resp: func() *plugin.Response { return plugin.Error(403, "<b>no</b>") },
			header: map[string]string{"Accept": "text/html"}, status: 403, ctype: typeHTML,
			body: "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Error</title>\n  </head>\n  <body>\n" +
				"    <h1>Error</h1>\n    <p>&lt;b&gt;no&lt;/b&gt;.</p>\n    <p>request_id: " + rid + "</p>\n  </body>\n</html>\n"},
		// kong.response.exit(status, {message = …}): cjson, "/" escaped, no
		// newline, no request id.
		{desc: "exit message", resp: func() *plugin.Response { return plugin.JSONMessage(503, "a/b \"c\"\n") },
			status: 503, ctype: typeJSON, body: `{"message":"a\/b \"c\"\n"}`},
		{desc: "exit without body", resp: func() *plugin.Response { return plugin.Empty(200) }, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			resp := tt.resp()
			resp.Render(r, rid)
			require.Equal(t, tt.status, resp.Status)
			require.Equal(t, tt.ctype, resp.Header.Get("Content-Type"))
			require.Equal(t, tt.body, string(resp.Body))
			require.Equal(t, len(tt.body), atoi(t, resp.Header.Get("Content-Length")))
		})
	}
}

func TestRenderNoBodyStatus(t *testing.T) {
	t.Parallel()
	resp := plugin.Empty(http.StatusNoContent)
	resp.Render(httptest.NewRequest(http.MethodGet, "/", nil), "rid")
	require.NotContains(t, resp.Header, "Content-Length")

	// A plugin's own Response without a header map.
	own := &plugin.Response{Status: http.StatusOK, Body: []byte("x")}
	own.Render(httptest.NewRequest(http.MethodGet, "/", nil), "rid")
	require.Equal(t, "1", own.Header.Get("Content-Length"))
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + int(c-'0')
	}
	return n
}
