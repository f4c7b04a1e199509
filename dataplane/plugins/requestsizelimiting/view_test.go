package requestsizelimiting_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/plugins/requestsizelimiting"
)

// TestAccessViewMatchesAccess: on the view (here the view of a net/http
// request; dataplane/proxy compares h1's) the declared size, the
// Content-Length field and Expect decide alike.
func TestAccessViewMatchesAccess(t *testing.T) {
	t.Parallel()
	configs := []map[string]any{
		nil,
		{"require_content_length": true},
		{"allowed_payload_size": 4, "size_unit": "bytes"},
		{"allowed_payload_size": 0, "size_unit": "bytes", "require_content_length": true},
	}
	requests := []struct {
		desc   string
		length int64
		fields http.Header
	}{
		{desc: "no body, no length"},
		{desc: "no body, a length of 0", fields: http.Header{"Content-Length": {"0"}}},
		{desc: "a declared body", length: 9, fields: http.Header{"Content-Length": {"9"}}},
		{desc: "a declared body, expect", length: 9, fields: http.Header{"Content-Length": {"9"}, "Expect": {" 100-Continue "}}},
		{desc: "a small body", length: 2, fields: http.Header{"Content-Length": {"2"}}},
		{desc: "chunked", length: -1, fields: http.Header{"Transfer-Encoding": {"chunked"}}},
		{desc: "unknown length", length: -1},
	}
	for ci, conf := range configs {
		cfg := plugintest.Fixture()
		p := plugintest.Plugin(t, "p1", requestsizelimiting.Name, conf)
		h, err := requestsizelimiting.New(plugin.Env{Config: cfg, Plugin: p})
		require.NoError(t, err)
		v := h.(plugin.ViewAccessor)
		require.True(t, v.OnView())
		for _, rq := range requests {
			req := func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/", strings.NewReader(strings.Repeat("x", max(0, int(rq.length)))))
				r.ContentLength, r.Header = rq.length, rq.fields.Clone()
				if r.Header == nil {
					r.Header = http.Header{}
				}
				return r
			}
			want := v.Access(plugin.NewContext(nil, nil, nil, "10.0.0.1"), req())
			got := v.AccessView(plugin.NewContext(nil, nil, nil, "10.0.0.1"), exchange.NewHTTPRequest(req()))
			require.Equal(t, want, got, "config %d, %s", ci, rq.desc)
		}
	}
}
