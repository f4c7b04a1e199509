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
			body: `{"secret":"s","tags":["a"]}`, wantBody: `{"count":3,"ok":true,"name":"\"x\"","tags":["a","b"]}`, needsBody: true,
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
			header: http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"5"}}, body: "plain", wantBody: "plain",
			check: func(t *testing.T, h http.Header) { require.Equal(t, "5", h.Get("Content-Length")) }},
		{desc: "a json type only in another type's suffix", cfg: map[string]any{"add": map[string]any{"json": []any{"a:1"}}},
			header: http.Header{"Content-Type": {"text/x+json"}}, body: `{}`, wantBody: `{}`},
		// spec/03-plugins/15-response-transformer/02-body_transformer_spec.lua:
		// a value is what cjson encodes of it, quotes and slashes
		// unescaped, so a value in double quotes keeps them.
		{desc: "add as Kong's spec", cfg: map[string]any{"add": map[string]any{
			"json":       []any{"p1:v1", "p3:value:3", `p4:"v1"`, "p5:-1", "p6:false", "p7:true"},
			"json_types": []any{"string", "string", "string", "number", "boolean", "boolean"}}},
			header: http.Header{"Content-Type": {"application/json"}}, body: `{"p2":"v1"}`, needsBody: true,
			wantBody: `{"p1":"v1","p2":"v1","p3":"value:3","p4":"\"v1\"","p5":-1,"p6":false,"p7":true}`},
		{desc: "colons after the name are skipped", cfg: map[string]any{
			"add":    map[string]any{"json": []any{"k::v", "n:::0x10"}, "json_types": []any{"string", "number"}},
			"rename": map[string]any{"json": []any{"old::new"}}},
			header: http.Header{"Content-Type": {"application/json"}}, body: `{"old":1}`, needsBody: true,
			wantBody: `{"k":"v","n":16,"new":1}`},
		// An empty value is Lua's nil, which cjson encodes as null.
		{desc: "empty values", cfg: map[string]any{"add": map[string]any{
			"json": []any{"s:", "n:", "b:", "u:http://h/p", `w:a\b`}, "json_types": []any{"string", "number", "boolean"}}},
			header: http.Header{"Content-Type": {"application/json"}}, body: `{}`, needsBody: true,
			wantBody: `{"s":"null","b":false,"u":"http://h/p","w":"a\\\\b"}`},
		// Lua's truthiness: false is as good as absent, null is a value.
		{desc: "false and null members", cfg: map[string]any{
			"add":     map[string]any{"json": []any{"f:added", "z:added"}},
			"replace": map[string]any{"json": []any{"g:replaced", "y:replaced"}}},
			header: http.Header{"Content-Type": {"application/json"}}, body: `{"f":false,"z":null,"g":false,"y":null}`, needsBody: true,
			wantBody: `{"f":"added","z":null,"g":false,"y":"replaced"}`},
		{desc: "rename onto itself removes", cfg: map[string]any{"rename": map[string]any{"json": []any{"a:a"}}},
			header: http.Header{"Content-Type": {"application/json"}}, body: `{"a":1,"b":2}`, needsBody: true, wantBody: `{"b":2}`},
		// append_value's table.insert on an object: cjson encodes it as
		// an object with the key "1", or as an array when that is its
		// only key.
		{desc: "append to objects", cfg: map[string]any{"append": map[string]any{"json": []any{"o:v", "e:v"}}},
			header: http.Header{"Content-Type": {"application/json"}}, body: `{"o":{"k":1},"e":{}}`, needsBody: true,
			wantBody: `{"o":{"k":1,"1":"v"},"e":["v"]}`},
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

// TestJSONContentTypes: the body is transformed only when Kong's
// is_json_body takes the Content-Type: one of its comma-separated media
// types, parsed whole, is application/json or application/*+json.
func TestJSONContentTypes(t *testing.T) {
	t.Parallel()
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", responsetransformer.Name,
		map[string]any{"add": map[string]any{"json": []any{"a:1"}}})}
	set, err := plugin.Build(plugintest.Registry(responsetransformer.Name, responsetransformer.New), cfg)
	require.NoError(t, err)
	for _, tc := range []struct {
		ct   string
		want bool
	}{
		{"application/json", true},
		{"Application/JSON; charset=utf-8", true},
		{`application/json;charset="utf-8"`, true},
		{"application/vnd.api+json", true},
		{"application/json-patch+json", true},
		{"text/plain, application/json", true},
		{"", false},
		{"text/json", false},
		{"text/x+json", false},
		{"application/jsonx", false},
		{"application/json;", false},
		{"application/json; charset", false},
		{"application/json charset=utf-8", false},
		{"*/*", false},
	} {
		t.Run(tc.ct, func(t *testing.T) {
			t.Parallel()
			pc := plugin.NewContext(cfg.Routes[0], cfg.Services[0], nil, "127.0.0.1")
			require.Nil(t, set.Access(pc, httptest.NewRequest(http.MethodGet, "/", nil)))
			h := http.Header{"Content-Type": {tc.ct}, "Content-Length": {"2"}}
			set.Header(pc, http.StatusOK, h)
			require.Equal(t, tc.want, set.NeedsBody(pc, http.StatusOK, h))
			require.Equal(t, !tc.want, h.Get("Content-Length") == "2", "Content-Length kept unless the body is rewritten")
			want := `{}`
			if tc.want {
				want = `{"a":"1"}`
			}
			require.Equal(t, want, string(set.Body(pc, h, []byte(`{}`))))
		})
	}
}
