package plugin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// TestRenderGRPC follows kong/pdk/response.lua's send and error for a
// gRPC request.
func TestRenderGRPC(t *testing.T) {
	t.Parallel()
	withType := func(resp *plugin.Response, ct string) *plugin.Response {
		resp.Header["Content-Type"] = []string{ct}
		return resp
	}
	withBody := func(resp *plugin.Response, body string) *plugin.Response {
		resp.Body = []byte(body)
		return resp
	}
	tests := []struct {
		desc   string
		resp   *plugin.Response
		h1     bool
		header map[string]string
		body   string
	}{
		{desc: "kong.response.error: the status, no message", resp: plugin.Error(http.StatusNotFound, "no Route matched with those values"),
			header: map[string]string{"Grpc-Status": "5", "Grpc-Message": "", "Content-Type": "application/grpc", "Content-Length": "0"}},
		{desc: "an error page: its message", resp: plugin.ErrorPage(http.StatusBadGateway, "An invalid response was received from the upstream server"),
			header: map[string]string{"Grpc-Status": "13", "Grpc-Message": "An invalid response was received from the upstream server",
				"Content-Type": "application/grpc", "Content-Length": "0"}},
		{desc: "unavailable", resp: plugin.Error(http.StatusServiceUnavailable, ""),
			header: map[string]string{"Grpc-Status": "14"}},
		{desc: "timeout", resp: plugin.ErrorPage(http.StatusGatewayTimeout, "The upstream server is timing out"),
			header: map[string]string{"Grpc-Status": "4", "Grpc-Message": "The upstream server is timing out"}},
		{desc: "kong.response.exit with {message}", resp: plugin.JSONMessage(http.StatusUnauthorized, "No API key found in request"),
			header: map[string]string{"Grpc-Status": "16", "Grpc-Message": "No API key found in request", "Content-Type": "application/grpc"}},
		{desc: "a 4xx outside the table", resp: plugin.Error(http.StatusTeapot, ""), header: map[string]string{"Grpc-Status": "3"}},
		{desc: "a 5xx outside the table", resp: plugin.Error(http.StatusBadGateway, ""), header: map[string]string{"Grpc-Status": "13"}},
		{desc: "a body of another type is left alone", resp: withBody(withType(plugin.Empty(http.StatusForbidden), "text/plain"), "no"),
			header: map[string]string{"Grpc-Status": "", "Content-Type": "text/plain"}, body: "no"},
		{desc: "a body without a type: its status's name", resp: withBody(plugin.Empty(http.StatusForbidden), "no"),
			header: map[string]string{"Grpc-Status": "7", "Grpc-Message": "PermissionDenied", "Content-Type": ""}, body: "no"},
		{desc: "grpc-status set by the caller is kept", resp: withType(plugin.Empty(http.StatusOK), "application/grpc"),
			header: map[string]string{"Grpc-Status": "0"}},
		{desc: "not over HTTP/2: not gRPC", h1: true, resp: plugin.ErrorPage(http.StatusNotFound, "gone"),
			header: map[string]string{"Grpc-Status": ""}, body: `{"message":"gone"}`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/pkg.Svc/Method", nil)
			r.Header.Set("Content-Type", "application/grpc+proto")
			if !tc.h1 {
				r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
			}
			assert.Equal(t, !tc.h1, plugin.IsGRPC(r))
			tc.resp.Render(r, "rid")
			for k, v := range tc.header {
				assert.Equal(t, v, tc.resp.Header.Get(k), k)
			}
			assert.Equal(t, tc.body, string(tc.resp.Body))
		})
	}
}
