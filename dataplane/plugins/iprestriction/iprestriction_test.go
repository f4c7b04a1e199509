package iprestriction_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/iprestriction"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestIPRestriction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		cfg        map[string]any
		ip         string
		wantStatus int
		wantMsg    string
	}{
		{desc: "allowed cidr", cfg: map[string]any{"allow": []any{"10.0.0.0/8"}}, ip: "10.1.2.3"},
		{desc: "outside allow", cfg: map[string]any{"allow": []any{"10.0.0.0/8"}}, ip: "192.0.2.1", wantStatus: 403, wantMsg: "IP address not allowed: 192.0.2.1"},
		{desc: "denied ip", cfg: map[string]any{"deny": []any{"192.0.2.1"}}, ip: "192.0.2.1", wantStatus: 403, wantMsg: "IP address not allowed: 192.0.2.1"},
		{desc: "deny wins over allow", cfg: map[string]any{"allow": []any{"192.0.2.0/24"}, "deny": []any{"192.0.2.7"}}, ip: "192.0.2.7", wantStatus: 403, wantMsg: "IP address not allowed: 192.0.2.7"},
		{desc: "not denied", cfg: map[string]any{"deny": []any{"192.0.2.1"}}, ip: "192.0.2.2"},
		{desc: "ipv6", cfg: map[string]any{"allow": []any{"2001:db8::/32"}}, ip: "2001:db8::1"},
		// kong/plugins/ip-restriction/handler.lua: an unreadable address is
		// refused with 403 whatever status is configured.
		{desc: "unreadable address", cfg: map[string]any{"allow": []any{"0.0.0.0/0"}, "status": 401}, ip: "@unix", wantStatus: 403,
			wantMsg: "Cannot identify the client IP address, unix domain sockets are not supported."},
		{desc: "unreadable address, no allow list", cfg: map[string]any{"deny": []any{"192.0.2.1"}}, ip: "", wantStatus: 403,
			wantMsg: "Cannot identify the client IP address, unix domain sockets are not supported."},
		{desc: "custom answer", cfg: map[string]any{"deny": []any{"0.0.0.0/0"}, "status": 401, "message": "go away"}, ip: "198.51.100.1", wantStatus: 401, wantMsg: "go away"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", iprestriction.Name, tt.cfg)}
			set, err := plugin.Build(plugintest.Registry(iprestriction.Name, iprestriction.New), cfg)
			require.NoError(t, err)
			pc := plugin.NewContext(cfg.Routes[0], cfg.Services[0], nil, tt.ip)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			resp := set.Access(pc, r)
			// On the view (the proxy's native path): the same answer.
			viewPC := plugin.NewContext(cfg.Routes[0], cfg.Services[0], nil, tt.ip)
			require.True(t, set.OnView(viewPC))
			require.Equal(t, resp, set.AccessView(viewPC, exchange.NewHTTPRequest(httptest.NewRequest(http.MethodGet, "/", nil))))
			if tt.wantStatus == 0 {
				require.Nil(t, resp)
				return
			}
			require.NotNil(t, resp)
			// kong/plugins/ip-restriction/handler.lua answers with
			// kong.response.error: Kong's JSON template with the request id.
			resp.Render(r, plugintest.RequestID)
			require.Equal(t, tt.wantStatus, resp.Status)
			require.Equal(t, plugintest.ErrorJSON(tt.wantMsg), string(resp.Body))
		})
	}
}
