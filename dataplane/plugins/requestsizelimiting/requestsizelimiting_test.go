package requestsizelimiting_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/plugins/requestsizelimiting"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestRequestSizeLimiting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		cfg        map[string]any
		body       string
		chunked    bool
		noLength   bool
		wantStatus int
		wantMsg    string
		streamErr  bool
		expect     string
	}{
		{desc: "under the limit", cfg: map[string]any{"allowed_payload_size": 10, "size_unit": "bytes"}, body: "small"},
		{desc: "over by content length", cfg: map[string]any{"allowed_payload_size": 4, "size_unit": "bytes"}, body: "too large",
			wantStatus: 413, wantMsg: "Request size limit exceeded"},
		{desc: "kilobytes", cfg: map[string]any{"allowed_payload_size": 1, "size_unit": "kilobytes"}, body: strings.Repeat("x", 1025),
			wantStatus: 413, wantMsg: "Request size limit exceeded"},
		{desc: "default megabytes", body: strings.Repeat("x", 2048)},
		{desc: "chunked over the limit fails while streaming", cfg: map[string]any{"allowed_payload_size": 4, "size_unit": "bytes"},
			body: "too large", chunked: true, streamErr: true},
		{desc: "chunked under the limit", cfg: map[string]any{"allowed_payload_size": 40, "size_unit": "bytes"}, body: "fine", chunked: true},
		// kong/plugins/request-size-limiting/handler.lua: a chunked body
		// is measured even with require_content_length; only a body with
		// neither length nor chunking is 411.
		{desc: "content length required, chunked measured", cfg: map[string]any{"require_content_length": true, "allowed_payload_size": 4, "size_unit": "bytes"},
			body: "too large", chunked: true, streamErr: true},
		{desc: "content length required, chunked under the limit", cfg: map[string]any{"require_content_length": true}, body: "x", chunked: true},
		{desc: "content length required", cfg: map[string]any{"require_content_length": true}, noLength: true,
			wantStatus: 411, wantMsg: "A valid Content-Length header is required"},
		// Expect: 100-continue with a declared size over the limit: 417.
		{desc: "expect continue over the limit", cfg: map[string]any{"allowed_payload_size": 4, "size_unit": "bytes"}, body: "too large",
			expect: " 100-Continue ", wantStatus: 417, wantMsg: "Request size limit exceeded"},
		{desc: "expect continue under the limit", cfg: map[string]any{"allowed_payload_size": 40, "size_unit": "bytes"}, body: "fine",
			expect: "100-continue"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", requestsizelimiting.Name, tt.cfg)}
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.expect != "" {
				r.Header.Set("Expect", tt.expect)
			}
			if tt.noLength {
				r = httptest.NewRequest(http.MethodPost, "/", http.NoBody)
				r.ContentLength = 0
				r.Header.Del("Content-Length")
			}
			if tt.chunked {
				r.ContentLength = -1
				r.Header.Del("Content-Length")
				r.TransferEncoding = []string{"chunked"}
			}
			res := plugintest.Run(t, plugintest.Registry(requestsizelimiting.Name, requestsizelimiting.New), cfg, r, nil)
			if tt.wantStatus != 0 {
				require.NotNil(t, res.Response)
				require.Equal(t, tt.wantStatus, res.Response.Status)
				require.Equal(t, plugintest.ErrorJSON(tt.wantMsg), string(res.Response.Body))
				return
			}
			require.Nil(t, res.Response)
			b, err := io.ReadAll(r.Body)
			if tt.streamErr {
				require.True(t, errors.Is(err, requestsizelimiting.ErrTooLarge))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.body, string(b))
		})
	}
}
