package cors_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/cors"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

const defaultMethods = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"

// TestCORS follows kong/plugins/cors/handler.lua and the expectations of
// spec/03-plugins/13-cors/01-access_spec.lua.
func TestCORS(t *testing.T) {
	t.Parallel()
	preflight := func(origin string) map[string]string {
		return map[string]string{"Origin": origin, "Access-Control-Request-Method": "GET"}
	}
	tests := []struct {
		desc      string
		cfg       map[string]any
		method    string
		headers   map[string]string
		upstream  http.Header
		answered  bool
		want      map[string]string
		wantEmpty []string
		wantVary  []string
	}{
		{desc: "no origins: *", headers: map[string]string{"Origin": "https://a.example"},
			want: map[string]string{"Access-Control-Allow-Origin": "*"}, wantEmpty: []string{"Vary", "Access-Control-Allow-Credentials"}},
		{desc: "origins [*]", cfg: map[string]any{"origins": []any{"*"}}, headers: map[string]string{"Origin": "https://a.example"},
			want: map[string]string{"Access-Control-Allow-Origin": "*"}, wantEmpty: []string{"Vary"}},
		// "gives * wildcard when origin has multiple entries and have * included"
		{desc: "* among origins", cfg: map[string]any{"origins": []any{"foo.bar", "*"}}, headers: map[string]string{"Origin": "http://www.example.net"},
			want: map[string]string{"Access-Control-Allow-Origin": "*"}, wantVary: []string{"Origin"}},
		{desc: "* among origins, no Origin", cfg: map[string]any{"origins": []any{"foo.bar", "*"}},
			wantEmpty: []string{"Access-Control-Allow-Origin"}, wantVary: []string{"Origin"}},
		// A single plain origin is the answer whatever the request says.
		{desc: "single origin, other Origin", cfg: map[string]any{"origins": []any{"https://a.example"}},
			headers: map[string]string{"Origin": "https://evil.example"}, want: map[string]string{"Access-Control-Allow-Origin": "https://a.example"},
			wantVary: []string{"Origin"}},
		{desc: "single origin, no Origin", cfg: map[string]any{"origins": []any{"https://a.example"}},
			want: map[string]string{"Access-Control-Allow-Origin": "https://a.example"}},
		{desc: "exact origin among several, credentials", cfg: map[string]any{"origins": []any{"https://a.example", "https://b.example"},
			"exposed_headers": []any{"X-Total"}, "credentials": true},
			headers: map[string]string{"Origin": "https://b.example"},
			want: map[string]string{"Access-Control-Allow-Origin": "https://b.example",
				"Access-Control-Allow-Credentials": "true", "Access-Control-Expose-Headers": "X-Total"}, wantVary: []string{"Origin"}},
		// The default port is normalized away before comparing.
		{desc: "default port", cfg: map[string]any{"origins": []any{"http://x.test", "http://y.test"}},
			headers: map[string]string{"Origin": "http://x.test:80"}, want: map[string]string{"Access-Control-Allow-Origin": "http://x.test"}},
		// credentials are sent whenever the origin is not "*", matched or not.
		{desc: "origin refused, credentials", cfg: map[string]any{"origins": []any{"https://a.example", "https://b.example"}, "credentials": true},
			headers: map[string]string{"Origin": "https://evil.example"}, want: map[string]string{"Access-Control-Allow-Credentials": "true"},
			wantEmpty: []string{"Access-Control-Allow-Origin"}, wantVary: []string{"Origin"}},
		// "removes upstream ACAO header when no match is found"
		{desc: "upstream ACAO removed", cfg: map[string]any{"origins": []any{"https://a.example", "https://b.example"}},
			headers: map[string]string{"Origin": "https://evil.example"}, upstream: http.Header{"Access-Control-Allow-Origin": {"*"}, "Vary": {"Accept"}},
			wantEmpty: []string{"Access-Control-Allow-Origin"}, wantVary: []string{"Accept", "Origin"}},
		{desc: "* with credentials reflects the Origin", cfg: map[string]any{"credentials": true},
			headers:  map[string]string{"Origin": "http://www.example.net:3000"},
			want:     map[string]string{"Access-Control-Allow-Origin": "http://www.example.net:3000", "Access-Control-Allow-Credentials": "true"},
			wantVary: []string{"Origin"}},
		{desc: "regex origin", cfg: map[string]any{"origins": []any{`https://.*\.example\.com`}},
			headers: map[string]string{"Origin": "https://api.example.com"}, want: map[string]string{"Access-Control-Allow-Origin": "https://api.example.com"}},
		{desc: "regex is anchored", cfg: map[string]any{"origins": []any{`https://.*\.example\.com`}},
			headers: map[string]string{"Origin": "https://api.example.com.evil"}, wantEmpty: []string{"Access-Control-Allow-Origin"}},
		{desc: "regex without a colon matches the host", cfg: map[string]any{"origins": []any{`.*\.example\.com`}},
			headers: map[string]string{"Origin": "https://api.example.com:9443"}, want: map[string]string{"Access-Control-Allow-Origin": "https://api.example.com:9443"}},
		// "accepts config options"
		{desc: "preflight answered", cfg: map[string]any{"origins": []any{"example.test"}, "max_age": 23, "methods": []any{"GET"},
			"headers": []any{"origin", "type", "accepts"}, "credentials": true},
			method: http.MethodOptions, answered: true, headers: preflight("origin5.test"),
			want: map[string]string{"Access-Control-Allow-Origin": "example.test", "Access-Control-Allow-Methods": "GET",
				"Access-Control-Allow-Headers": "origin,type,accepts", "Access-Control-Max-Age": "23",
				"Access-Control-Allow-Credentials": "true", "Vary": "Origin", "Content-Length": "0"}},
		// "replies with request-headers if present in request"
		{desc: "preflight echoes request headers", method: http.MethodOptions, answered: true,
			headers: map[string]string{"Origin": "origin5.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "origin,accepts"},
			want:    map[string]string{"Access-Control-Allow-Headers": "origin,accepts", "Access-Control-Allow-Methods": defaultMethods}},
		{desc: "preflight private network", cfg: map[string]any{"private_network": true}, method: http.MethodOptions, answered: true,
			headers: map[string]string{"Origin": "a.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "true"},
			want:    map[string]string{"Access-Control-Allow-Private-Network": "true"}},
		// With preflight_continue the upstream answers, and the plugin adds
		// nothing to that answer (skip_response_headers).
		{desc: "preflight continues", cfg: map[string]any{"preflight_continue": true}, method: http.MethodOptions,
			headers: preflight("https://a.example"), wantEmpty: []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods"}},
		{desc: "options without Origin is not a preflight", method: http.MethodOptions,
			headers: map[string]string{"Access-Control-Request-Method": "GET"}, want: map[string]string{"Access-Control-Allow-Origin": "*"}},
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
			res := plugintest.Run(t, plugintest.Registry(cors.Name, cors.New), cfg, r, tt.upstream)
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
			if tt.wantVary != nil {
				require.Equal(t, tt.wantVary, res.Header.Values("Vary"))
			}
		})
	}
}

// TestStarOrigins: the configurations a data plane refused before
// ("compiling origin \"*\"") build.
func TestStarOrigins(t *testing.T) {
	t.Parallel()
	for _, origins := range [][]any{{"*"}, {"http://a.test", "*"}, {"*", `.*\.a\.test`}} {
		cfg := plugintest.Fixture()
		cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", cors.Name, map[string]any{"origins": origins})}
		_, err := cors.New(pluginEnv(cfg))
		require.NoError(t, err, origins)
	}
}

func pluginEnv(cfg *model.Config) plugin.Env { return plugin.Env{Config: cfg, Plugin: cfg.Plugins[0]} }
