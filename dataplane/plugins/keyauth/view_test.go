package keyauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/keyauth"
)

// TestAccessViewMatchesAccess: the access phase on the view (here the
// view of a net/http request; dataplane/proxy compares h1's) decides,
// answers and changes the request as Access does on the request itself.
func TestAccessViewMatchesAccess(t *testing.T) {
	t.Parallel()
	configs := []map[string]any{
		nil,
		{"hide_credentials": true},
		{"key_names": []any{"api_key", "apikey"}, "hide_credentials": true},
		{"anonymous": "bob"},
		{"key_in_query": false, "realm": "r"},
		{"run_on_preflight": false},
	}
	requests := []func() *http.Request{
		get("/"),
		withHeader("apikey", secretKey),
		withHeader("apikey", "nope"),
		withHeader("apikey", ""),
		withHeader("Api-Key", secretKey),
		get("/?apikey=" + secretKey + "&x=1"),
		get("/?apikey=" + secretKey),
		get("/?x=1&apikey=a&apikey=b"),
		get("/?apikey"),
		get("/?api_key=" + secretKey),
		func() *http.Request {
			r := withHeader("apikey", secretKey)()
			r.Header.Add("apikey", "second")
			return r
		},
		func() *http.Request {
			r := withHeader("apikey", secretKey)()
			r.Header.Set("X-Consumer-Username", "root")
			r.Header.Set("X-Credential-Identifier", "x")
			r.Header.Set("X-Anonymous-Consumer", "true")
			return r
		},
		func() *http.Request { return httptest.NewRequest(http.MethodOptions, "/?x=1", nil) },
	}
	for ci, conf := range configs {
		cfg := config(t, conf)
		h, err := keyauth.New(plugin.Env{Config: cfg, Plugin: cfg.Plugins[0]})
		require.NoError(t, err)
		v, ok := h.(plugin.ViewAccessor)
		require.True(t, ok)
		require.True(t, v.OnView())
		for ri, req := range requests {
			want, got := req(), req()
			wantPC := plugin.NewContext(nil, nil, nil, "10.0.0.1")
			gotPC := plugin.NewContext(nil, nil, nil, "10.0.0.1")
			wantRes := v.Access(wantPC, want)
			gotRes := v.AccessView(gotPC, exchange.NewHTTPRequest(got))
			require.Equal(t, wantRes, gotRes, "config %d, request %d: answer", ci, ri)
			require.Equal(t, wantPC.Consumer, gotPC.Consumer, "config %d, request %d: consumer", ci, ri)
			require.Equal(t, wantPC.Credential, gotPC.Credential, "config %d, request %d: credential", ci, ri)
			require.Equal(t, want.Header, got.Header, "config %d, request %d: fields", ci, ri)
			query := got.URL.RawQuery
			if q, changed := gotPC.UpstreamQuery(); changed {
				query = q
			}
			require.Equal(t, want.URL.RawQuery, query, "config %d, request %d: query", ci, ri)
		}
	}
}
