package acl_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/acl"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

// carolID is a consumer in no group.
const carolID = "00000000-0000-4000-9000-0000000000c0"

func TestACL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc       string
		cfg        map[string]any
		consumer   string
		credential bool
		wantStatus int
		wantMsg    string
		wantGroups string
	}{
		{desc: "allowed group", cfg: map[string]any{"allow": []any{"admin"}}, consumer: plugintest.AliceID, wantGroups: "admin, dev"},
		{desc: "not in allowed group", cfg: map[string]any{"allow": []any{"admin"}}, consumer: plugintest.BobID, wantStatus: 403, wantMsg: "You cannot consume this service"},
		{desc: "denied group", cfg: map[string]any{"deny": []any{"dev"}}, consumer: plugintest.AliceID, wantStatus: 403, wantMsg: "You cannot consume this service"},
		{desc: "not in denied group", cfg: map[string]any{"deny": []any{"admin"}}, consumer: plugintest.BobID, wantGroups: "ops"},
		{desc: "groups header hidden", cfg: map[string]any{"allow": []any{"dev"}, "hide_groups_header": true}, consumer: plugintest.AliceID},
		{desc: "unauthenticated", cfg: map[string]any{"allow": []any{"admin"}}, wantStatus: 401, wantMsg: "Unauthorized"},
		// kong/plugins/acl/handler.lua: a consumer in no group, facing an
		// allow list, is 401 without a credential (anonymous), 403 with one;
		// facing a deny list it passes.
		{desc: "anonymous consumer in no group", cfg: map[string]any{"allow": []any{"admin"}}, consumer: carolID, wantStatus: 401, wantMsg: "Unauthorized"},
		{desc: "authenticated consumer in no group", cfg: map[string]any{"allow": []any{"admin"}}, consumer: carolID, credential: true, wantStatus: 403, wantMsg: "You cannot consume this service"},
		{desc: "consumer in no group, deny list", cfg: map[string]any{"deny": []any{"admin"}}, consumer: carolID, credential: true},
		{desc: "credential without consumer", cfg: map[string]any{"allow": []any{"admin"}}, credential: true, wantStatus: 403, wantMsg: "You cannot consume this service"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Consumers = append(cfg.Consumers, &model.Consumer{Base: model.Base{ID: carolID}})
			cfg.ACLs = []*model.ACL{
				{Group: "admin", Consumer: &model.Ref{ID: plugintest.AliceID}},
				{Group: "dev", Consumer: &model.Ref{ID: plugintest.AliceID}},
				{Group: "ops", Consumer: &model.Ref{ID: plugintest.BobID}},
			}
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", acl.Name, tt.cfg)}
			set, err := plugin.Build(plugintest.Registry(acl.Name, acl.New), cfg)
			require.NoError(t, err)
			pc := plugin.NewContext(cfg.Routes[0], cfg.Services[0], nil, "127.0.0.1")
			for _, c := range cfg.Consumers {
				if c.ID == tt.consumer {
					pc.Consumer = c
				}
			}
			if tt.credential {
				pc.Credential = &model.KeyAuth{}
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("X-Consumer-Groups", "spoofed")
			resp := set.Access(pc, r)
			if tt.wantStatus != 0 {
				require.NotNil(t, resp)
				require.Equal(t, tt.wantStatus, resp.Status)
				// kong/plugins/acl/handler.lua: kong.response.error.
				resp.Render(r, plugintest.RequestID)
				require.Equal(t, plugintest.ErrorJSON(tt.wantMsg), string(resp.Body))
				return
			}
			require.Nil(t, resp)
			require.Equal(t, tt.wantGroups, r.Header.Get("X-Consumer-Groups"))
		})
	}
}
