package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/admin"
)

// TestLocalGuard: an Admin API with no token answers local clients (curl,
// decK: forms and JSON, no Origin) and refuses what came through a proxy,
// what a DNS-rebinding page or a cross-site page sends; a refused request
// writes nothing.
func TestLocalGuard(t *testing.T) {
	t.Parallel()
	st := openEmbedded(t)
	srv := httptest.NewServer(admin.LocalGuard(admin.New(admin.Options{Store: st})))
	t.Cleanup(srv.Close)
	self := "http://" + srv.Listener.Addr().String()

	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		desc   string
		method string
		ctype  string
		body   string
		header map[string]string
		host   string
		want   int
	}{
		{desc: "curl form", method: "POST", ctype: form, body: "name=a&url=http://upstream.test", want: http.StatusCreated},
		{desc: "decK JSON", method: "POST", ctype: "application/json", body: `{"name":"b","url":"http://upstream.test"}`, want: http.StatusCreated},
		{desc: "a read", method: "GET", want: http.StatusOK},
		{desc: "localhost by name", method: "GET", host: "localhost", want: http.StatusOK},
		{desc: "a .localhost name", method: "GET", host: "admin.localhost:9001", want: http.StatusOK},
		{desc: "the Admin API's own page", method: "POST", ctype: "application/json", body: `{"name":"c","url":"http://upstream.test"}`,
			header: map[string]string{"Origin": self, "Sec-Fetch-Site": "same-origin"}, want: http.StatusCreated},
		{desc: "typed in the address bar", method: "GET", header: map[string]string{"Sec-Fetch-Site": "none"}, want: http.StatusOK},

		{desc: "through the data plane", method: "POST", ctype: form, body: "name=x&url=http://upstream.test",
			header: map[string]string{"X-Forwarded-For": "198.51.100.7", "Via": "1.1 skyport"}, want: http.StatusForbidden},
		{desc: "through another proxy", method: "GET", header: map[string]string{"Forwarded": "for=198.51.100.7"}, want: http.StatusForbidden},
		{desc: "DNS rebinding", method: "GET", host: "attacker.example:9001", want: http.StatusForbidden},
		{desc: "DNS rebinding with a write", method: "POST", ctype: "application/json", body: `{"name":"x","url":"http://upstream.test"}`,
			host: "attacker.example", header: map[string]string{"Origin": "http://attacker.example"}, want: http.StatusForbidden},
		{desc: "cross-site form", method: "POST", ctype: form, body: "name=x&url=http://upstream.test",
			header: map[string]string{"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}, want: http.StatusForbidden},
		{desc: "another local port", method: "POST", ctype: form, body: "name=x&url=http://upstream.test",
			header: map[string]string{"Origin": "http://127.0.0.1:3000"}, want: http.StatusForbidden},
		{desc: "sandboxed page", method: "POST", ctype: form, body: "name=x&url=http://upstream.test",
			header: map[string]string{"Origin": "null"}, want: http.StatusForbidden},
		{desc: "cross-site with no Origin", method: "POST", ctype: form, body: "name=x&url=http://upstream.test",
			header: map[string]string{"Sec-Fetch-Site": "same-site"}, want: http.StatusForbidden},
		{desc: "text/plain body", method: "POST", ctype: "text/plain", body: `{"name":"x","url":"http://upstream.test"}`, want: http.StatusForbidden},
		{desc: "body without a content type", method: "POST", body: `{"name":"x","url":"http://upstream.test"}`, want: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(context.Background(), tt.method, srv.URL+"/services", body)
			require.NoError(t, err)
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tt.want, resp.StatusCode, "%s", raw)
			if tt.want == http.StatusForbidden {
				var msg map[string]any
				require.NoError(t, json.Unmarshal(raw, &msg))
				require.Len(t, msg, 1, "Kong's {\"message\"} body: %s", raw)
				require.NotEmpty(t, msg["message"])
			}
		})
	}
	rev, err := st.Revision(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(3), rev, "only the three allowed writes were committed")
}
