package botdetection_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/botdetection"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
)

// TestAccessViewMatchesAccess: on the view (here the view of a net/http
// request; dataplane/proxy compares h1's) the User-Agent fields decide
// alike: none, one allowed, denied or a known bot, two.
func TestAccessViewMatchesAccess(t *testing.T) {
	t.Parallel()
	configs := []map[string]any{
		nil,
		{"allow": []any{"(?i)googlebot"}},
		{"deny": []any{"^curl/"}},
	}
	agents := [][]string{nil, {"Mozilla/5.0"}, {"curl/8.0"}, {"Googlebot/2.1"}, {" Googlebot/2.1 "}, {""},
		{"Mozilla/5.0", "curl/8.0"}}
	for ci, conf := range configs {
		cfg := plugintest.Fixture()
		p := plugintest.Plugin(t, "p1", botdetection.Name, conf)
		h, err := botdetection.New(plugin.Env{Config: cfg, Plugin: p})
		require.NoError(t, err)
		v := h.(plugin.ViewAccessor)
		require.True(t, v.OnView())
		for _, ua := range agents {
			req := func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				if ua != nil {
					r.Header["User-Agent"] = ua
				}
				return r
			}
			want := v.Access(plugin.NewContext(nil, nil, nil, "10.0.0.1"), req())
			// Twice on the view: the second from the verdicts remembered.
			for range 2 {
				got := v.AccessView(plugin.NewContext(nil, nil, nil, "10.0.0.1"), exchange.NewHTTPRequest(req()))
				require.Equal(t, want, got, "config %d, agents %q", ci, ua)
			}
		}
	}
	// A known bot is refused, Kong's default list.
	h, err := botdetection.New(plugin.Env{Config: plugintest.Fixture(), Plugin: plugintest.Plugin(t, "p1", botdetection.Name, nil)})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("User-Agent", "Googlebot/2.1")
	resp := h.(plugin.ViewAccessor).AccessView(plugin.NewContext(nil, nil, nil, ""), exchange.NewHTTPRequest(r))
	require.NotNil(t, resp)
	require.Equal(t, http.StatusForbidden, resp.Status)
}
