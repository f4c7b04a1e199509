package responsetransformer_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/plugins/responsetransformer"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestResponseTransformer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc      string
		cfg       map[string]any
		header    http.Header
		body      string
		wantBody  string
		needsBody bool
		check     func(t *testing.T, h http.Header)
	}{
		{desc: "headers", cfg: map[string]any{
			"remove":  map[string]any{"headers": []any{"server"}},
			"rename":  map[string]any{"headers": []any{"x-old:x-new"}},
			"replace": map[string]any{"headers": []any{"x-new:replaced"}},
			"add":     map[string]any{"headers": []any{"x-added:1", "x-new:ignored"}},
			"append":  map[string]any{"headers": []any{"x-added:2"}},
		}, header: http.Header{"Server": {"upstream"}, "X-Old": {"v"}, "Content-Type": {"application/json"}},
			check: func(t *testing.T, h http.Header) {
				require.Empty(t, h.Get("Server"))
				// Kong reads the fields as the upstream sent them: X-New
				// was not there, so it is not replaced but added.
				require.Equal(t, []string{"ignored"}, h.Values("X-New"))
				require.Empty(t, h.Values("X-Old"))
				require.Equal(t, []string{"1", "2"}, h.Values("X-Added"))
			}},
		{desc: "json body with types", cfg: map[string]any{
			"remove": map[string]any{"json": []any{"secret"}},
			"add":    map[string]any{"json": []any{"count:3", "ok:true", "name:\"x\""}, "json_types": []any{"number", "boolean"}},
			"append": map[string]any{"json": []any{"tags:b"}},
		}, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Content-Length": {"42"}},
			body: `{"secret":"s","tags":["a"]}`, wantBody: `{"count":3,"ok":true,"name":"x","tags":["a","b"]}`, needsBody: true,
			check: func(t *testing.T, h http.Header) { require.Empty(t, h.Get("Content-Length")) }},
		// kong/plugins/response-transformer/body_transformer.lua's
		// append_value: an absent member becomes a list of the value, a
		// string a list of both, a number is replaced by a list.
		{desc: "append to absent members", cfg: map[string]any{
			"append": map[string]any{"json": []any{"p2:a2", "n:7", "s:v2", "num:8"}, "json_types": []any{"string", "number", "string", "number"}},
		}, header: http.Header{"Content-Type": {"application/json"}},
			body: `{"s":"v1","num":5}`, wantBody: `{"p2":["a2"],"n":[7],"s":["v1","v2"],"num":[8]}`, needsBody: true},
		{desc: "append of a number that does not parse is skipped", cfg: map[string]any{
			"append": map[string]any{"json": []any{"n:x"}, "json_types": []any{"number"}},
		}, header: http.Header{"Content-Type": {"application/json"}}, body: `{}`, wantBody: `{}`, needsBody: true},
		{desc: "non-json body untouched", cfg: map[string]any{"add": map[string]any{"json": []any{"a:1"}}},
			header: http.Header{"Content-Type": {"text/plain"}}, body: "plain", wantBody: "plain"},
		{desc: "no json ops, no buffering", cfg: map[string]any{"add": map[string]any{"headers": []any{"a:1"}}},
			header: http.Header{"Content-Type": {"application/json"}}, body: `{}`, wantBody: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", responsetransformer.Name, tt.cfg)}
			set, err := plugin.Build(plugintest.Registry(responsetransformer.Name, responsetransformer.New), cfg)
			require.NoError(t, err)
			pc := plugin.NewContext(cfg.Routes[0], cfg.Services[0], nil, "127.0.0.1")
			require.Nil(t, set.Access(pc, httptest.NewRequest(http.MethodGet, "/", nil)))
			h := tt.header.Clone()
			set.Header(pc, http.StatusOK, h)
			require.Equal(t, tt.needsBody, set.NeedsBody(pc, http.StatusOK, h))
			if tt.wantBody != "" {
				got := string(set.Body(pc, h, []byte(tt.body)))
				if tt.needsBody {
					require.JSONEq(t, tt.wantBody, got)
				} else {
					require.Equal(t, tt.wantBody, got)
				}
			}
			if tt.check != nil {
				tt.check(t, h)
			}
		})
	}
}
