package requesttransformer_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/plugins/requesttransformer"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestRequestTransformer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		cfg   map[string]any
		req   func() *http.Request
		check func(t *testing.T, r *http.Request, upstreamPath string)
	}{
		{desc: "headers in Kong's order",
			cfg: map[string]any{
				"remove":  map[string]any{"headers": []any{"x-drop"}},
				"rename":  map[string]any{"headers": []any{"x-old:x-new"}},
				"replace": map[string]any{"headers": []any{"x-new:replaced", "x-absent:nope"}},
				"add":     map[string]any{"headers": []any{"x-new:added", "x-added:1"}},
				"append":  map[string]any{"headers": []any{"x-added:2"}},
			},
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.Header.Set("X-Drop", "1")
				r.Header.Set("X-Old", "v")
				return r
			},
			check: func(t *testing.T, r *http.Request, _ string) {
				require.Empty(t, r.Header.Get("X-Drop"))
				require.Empty(t, r.Header.Get("X-Old"))
				require.Equal(t, "replaced", r.Header.Get("X-New"))
				require.Empty(t, r.Header.Get("X-Absent"))
				require.Equal(t, []string{"1", "2"}, r.Header.Values("X-Added"))
			}},
		{desc: "replace of a field present with an empty value (Kong: headers[name] ~= nil)",
			cfg: map[string]any{"replace": map[string]any{"headers": []any{"x-swap:swapped"}}},
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.Header["X-Swap"] = []string{""}
				return r
			},
			check: func(t *testing.T, r *http.Request, _ string) {
				require.Equal(t, []string{"swapped"}, r.Header.Values("X-Swap"))
			}},
		{desc: "query string",
			cfg: map[string]any{
				"remove": map[string]any{"querystring": []any{"secret"}},
				"rename": map[string]any{"querystring": []any{"q:query"}},
				"add":    map[string]any{"querystring": []any{"page:1", "query:ignored"}},
			},
			req: func() *http.Request { return httptest.NewRequest(http.MethodGet, "/?q=go&secret=x", nil) },
			check: func(t *testing.T, r *http.Request, _ string) {
				require.Equal(t, "page=1&query=go", r.URL.RawQuery)
			}},
		{desc: "json body",
			cfg: map[string]any{
				"remove": map[string]any{"body": []any{"password"}},
				"add":    map[string]any{"body": []any{"source:gateway"}},
				"append": map[string]any{"body": []any{"tags:new"}},
			},
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"user":"a","password":"p","tags":"old"}`))
				r.Header.Set("Content-Type", "application/json")
				return r
			},
			check: func(t *testing.T, r *http.Request, _ string) {
				b, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				require.JSONEq(t, `{"user":"a","source":"gateway","tags":["old","new"]}`, string(b))
				require.EqualValues(t, len(b), r.ContentLength)
			}},
		// kong/plugins/request-transformer/access.lua's append_value: an
		// absent member becomes a list.
		{desc: "json append to an absent member",
			cfg: map[string]any{"append": map[string]any{"body": []any{"p2:a2"}}},
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"p1":"v"}`))
				r.Header.Set("Content-Type", "application/json")
				return r
			},
			check: func(t *testing.T, r *http.Request, _ string) {
				b, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				require.JSONEq(t, `{"p1":"v","p2":["a2"]}`, string(b))
			}},
		{desc: "form body",
			cfg: map[string]any{"replace": map[string]any{"body": []any{"a:2"}}, "rename": map[string]any{"body": []any{"b:c"}}},
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`a=1&b=3`))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			},
			check: func(t *testing.T, r *http.Request, _ string) {
				b, _ := io.ReadAll(r.Body)
				require.Equal(t, "a=2&c=3", string(b))
			}},
		// kong/plugins/request-transformer/access.lua's
		// transform_multipart_body: rename, remove, replace, add through
		// lua-multipart's set_simple (a simple part, placed last); append
		// does nothing. Parts left alone keep their bytes, file headers
		// included.
		{desc: "multipart body",
			cfg: map[string]any{
				"rename":  map[string]any{"body": []any{"old:new"}},
				"remove":  map[string]any{"body": []any{"secret"}},
				"replace": map[string]any{"body": []any{"a:2", "absent:x"}},
				"add":     map[string]any{"body": []any{"source:gw", "doc:ignored"}},
				"append":  map[string]any{"body": []any{"tags:t"}},
			},
			req: postMultipart(mpBody(mpFile, mpField("secret", "s"), mpField("old", "v"), mpField("a", "1"))),
			check: func(t *testing.T, r *http.Request, _ string) {
				b, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				want := mpBody(mpFile, mpField("new", "v"), mpField("a", "2"), mpField("source", "gw"))
				require.Equal(t, want, string(b))
				require.EqualValues(t, len(want), r.ContentLength)
			}},
		{desc: "multipart append alone untouched",
			cfg: map[string]any{"append": map[string]any{"body": []any{"a:2"}}, "remove": map[string]any{"body": []any{"absent"}}},
			req: postMultipart(mpBody(mpField("a", "1"))),
			check: func(t *testing.T, r *http.Request, _ string) {
				b, _ := io.ReadAll(r.Body)
				require.Equal(t, mpBody(mpField("a", "1")), string(b))
			}},
		{desc: "multipart add to an empty body",
			cfg: map[string]any{"add": map[string]any{"body": []any{"a:1"}}},
			req: postMultipart(""),
			check: func(t *testing.T, r *http.Request, _ string) {
				b, _ := io.ReadAll(r.Body)
				require.Equal(t, mpBody(mpField("a", "1")), string(b))
			}},
		{desc: "unterminated multipart untouched",
			cfg: map[string]any{"remove": map[string]any{"body": []any{"a"}}},
			req: postMultipart("--mB\r\n" + mpField("a", "1")),
			check: func(t *testing.T, r *http.Request, _ string) {
				b, _ := io.ReadAll(r.Body)
				require.Equal(t, "--mB\r\n"+mpField("a", "1"), string(b))
			}},
		{desc: "other bodies untouched",
			cfg: map[string]any{"add": map[string]any{"body": []any{"a:1"}}},
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`raw`))
				r.Header.Set("Content-Type", "text/plain")
				return r
			},
			check: func(t *testing.T, r *http.Request, _ string) {
				b, _ := io.ReadAll(r.Body)
				require.Equal(t, "raw", string(b))
			}},
		{desc: "templates",
			cfg: map[string]any{
				"add":     map[string]any{"headers": []any{`x-user:$(headers["x-client-user"])`, "x-page:p$(query_params.page)", "x-none:$(headers.absent)"}},
				"replace": map[string]any{"uri": "/users/$(uri_captures.id)"},
			},
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/u/42?page=3", nil)
				r.Header.Set("X-Client-User", "alice")
				return r
			},
			check: func(t *testing.T, r *http.Request, upstreamPath string) {
				require.Equal(t, "alice", r.Header.Get("X-User"))
				require.Equal(t, "p3", r.Header.Get("X-Page"))
				require.Equal(t, []string{""}, r.Header.Values("X-None"))
				require.Equal(t, "/users/42", upstreamPath)
			}},
		{desc: "method and uri",
			cfg: map[string]any{"http_method": "POST", "replace": map[string]any{"uri": "/v2/items"}},
			req: func() *http.Request { return httptest.NewRequest(http.MethodGet, "/items", nil) },
			check: func(t *testing.T, r *http.Request, upstreamPath string) {
				require.Equal(t, http.MethodPost, r.Method)
				require.Equal(t, "/v2/items", upstreamPath)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p1", requesttransformer.Name, tt.cfg)}
			r := tt.req()
			res := plugintest.Run(t, plugintest.Registry(requesttransformer.Name, requesttransformer.New), cfg, r, nil,
				plugintest.WithCaptures(map[string]string{"id": "42"}))
			require.Nil(t, res.Response)
			tt.check(t, r, res.Context.UpstreamPath)
		})
	}
}

// mpFile is a multipart file part named doc.
const mpFile = "Content-Disposition: form-data; name=\"doc\"; filename=\"d.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\r\nbody"

func mpField(name, value string) string {
	return "Content-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value
}

// mpBody joins parts into a multipart body with boundary "mB".
func mpBody(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--mB\r\n" + p + "\r\n")
	}
	return b.String() + "--mB--\r\n"
}

func postMultipart(body string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=mB")
		return r
	}
}
