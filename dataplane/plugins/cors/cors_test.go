package cors_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/cors"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc      string
		cfg       map[string]any
		method    string
		headers   map[string]string
		answered  bool
		want      map[string]string
		wantEmpty []string
	}{
		{desc: "any origin", headers: map[string]string{"Origin": "https://a.example"},
			want: map[string]string{"Access-Control-Allow-Origin": "*"}, wantEmpty: []string{"Vary", "Access-Control-Allow-Credentials"}},
		{desc: "exact origin allowed", cfg: map[string]any{"origins": []any{"https://a.example"}, "exposed_headers": []any{"X-Total"}, "credentials": true},
			headers: map[string]string{"Origin": "https://a.example"},
			want: map[string]string{"Access-Control-Allow-Origin": "https://a.example", "Vary": "Origin",
				"Access-Control-Allow-Credentials": "true", "Access-Control-Expose-Headers": "X-Total"}},
		{desc: "origin refused", cfg: map[string]any{"origins": []any{"https://a.example"}},
			headers: map[string]string{"Origin": "https://evil.example"}, want: map[string]string{"Vary": "Origin"},
			wantEmpty: []string{"Access-Control-Allow-Origin"}},
		{desc: "regex origin", cfg: map[string]any{"origins": []any{`https://.*\.example\.com`}},
			headers: map[string]string{"Origin": "https://api.example.com"}, want: map[string]string{"Access-Control-Allow-Origin": "https://api.example.com"}},
		{desc: "regex is anchored", cfg: map[string]any{"origins": []any{`https://.*\.example\.com`}},
			headers: map[string]string{"Origin": "https://api.example.com.evil"}, wantEmpty: []string{"Access-Control-Allow-Origin"}},
		{desc: "preflight answered", cfg: map[string]any{"origins": []any{"https://a.example"}, "max_age": 3600, "methods": []any{"GET", "POST"}},
			method: http.MethodOptions, answered: true,
			headers: map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "X-Foo"},
			want: map[string]string{"Access-Control-Allow-Origin": "https://a.example", "Access-Control-Allow-Methods": "GET,POST",
				"Access-Control-Allow-Headers": "X-Foo", "Access-Control-Max-Age": "3600"}},
		{desc: "preflight configured headers", cfg: map[string]any{"headers": []any{"X-A", "X-B"}}, method: http.MethodOptions, answered: true,
			headers: map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-Foo"},
			want: map[string]string{"Access-Control-Allow-Headers": "X-A,X-B",
				"Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"}},
		{desc: "preflight continues", cfg: map[string]any{"preflight_continue": true}, method: http.MethodOptions,
			headers: map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "GET"},
			want:    map[string]string{"Access-Control-Allow-Origin": "*"}, wantEmpty: []string{"Access-Control-Allow-Methods"}},
		{desc: "plain options is not a preflight", method: http.MethodOptions, headers: map[string]string{"Origin": "https://a.example"},
			want: map[string]string{"Access-Control-Allow-Origin": "*"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", cors.Name, tt.cfg)}
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "/", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			res := plugintest.Run(t, plugintest.Registry(cors.Name, cors.New), cfg, r, nil)
			if tt.answered {
				require.NotNil(t, res.Response)
				require.Equal(t, http.StatusOK, res.Response.Status)
				require.Empty(t, res.Response.Body)
			} else {
				require.Nil(t, res.Response)
			}
			for k, v := range tt.want {
				require.Equal(t, v, res.Header.Get(k), k)
			}
			for _, k := range tt.wantEmpty {
				require.Empty(t, res.Header.Get(k), k)
			}
		})
	}
}
