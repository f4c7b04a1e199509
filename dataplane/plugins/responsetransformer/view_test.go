package responsetransformer_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/plugins/responsetransformer"
	"github.com/skyport-gw/skyport/internal/model"
)

// fields is an upstream response's fields in order, as the proxy's
// view gives them (plugin.UpstreamFields): names in any case, a dropped
// field (hop-by-hop) with an empty name.
type fields [][2]string

func (f fields) Len() int { return len(f) }

func (f fields) At(i int) (name, value []byte) {
	if f[i][0] == "" {
		return nil, nil
	}
	return []byte(f[i][0]), []byte(f[i][1])
}

// header is the map relay builds of f: the dropped fields left out.
func (f fields) header() http.Header {
	h := http.Header{}
	for _, kv := range f {
		if kv[0] != "" {
			h.Add(kv[0], kv[1])
		}
	}
	return h
}

func transformer(t *testing.T, conf map[string]any) plugin.ResponseViewer {
	t.Helper()
	cfg := plugintest.Fixture()
	p := plugintest.Plugin(t, "p1", responsetransformer.Name, conf)
	cfg.Plugins = []*model.Plugin{p}
	h, err := responsetransformer.New(plugin.Env{Config: cfg, Plugin: p})
	require.NoError(t, err)
	return h.(plugin.ResponseViewer)
}

// TestHeaderViewMatchesHeader: on the view, the header operations read
// the upstream's fields with the changes made so far and change them
// through the context; applied to the upstream's fields as the proxy's
// relayView applies them (a set or deleted name drops the upstream's,
// then every field but a deletion is written), they give what Header
// gives on relay's map.
func TestHeaderViewMatchesHeader(t *testing.T) {
	t.Parallel()
	upstream := fields{{"X-Old", "a"}, {"x-old", "b"}, {"X-New", "gone"}, {"Content-Type", "text/plain"},
		{"X-Empty", ""}, {"", "dropped"}, {"Vary", "Accept"}, {"x-lower", "l"}, {"Server", "origin"}}
	for _, tc := range []struct {
		desc string
		conf map[string]any
	}{
		{"every operation", map[string]any{
			"remove":  map[string]any{"headers": []any{"server"}},
			"rename":  map[string]any{"headers": []any{"x-old:x-new"}},
			"replace": map[string]any{"headers": []any{"x-new:replaced", "x-absent:no"}},
			"add":     map[string]any{"headers": []any{"x-added:1", "x-new:ignored"}},
			"append":  map[string]any{"headers": []any{"x-added:2", "Vary:Origin"}},
		}},
		{"rename of an absent field", map[string]any{"rename": map[string]any{"headers": []any{"x-none:x-lower"}}}},
		{"rename in any case", map[string]any{"rename": map[string]any{"headers": []any{"X-LOWER:x-Up"}}}},
		{"rename onto itself", map[string]any{"rename": map[string]any{"headers": []any{"x-old:X-Old"}}}},
		{"rename then add the old name", map[string]any{
			"rename": map[string]any{"headers": []any{"x-old:x-moved"}},
			"add":    map[string]any{"headers": []any{"x-old:back", "x-moved:no"}},
		}},
		{"replace an empty field", map[string]any{"replace": map[string]any{"headers": []any{"x-empty:full"}}}},
		{"remove then add", map[string]any{
			"remove": map[string]any{"headers": []any{"content-type"}},
			"add":    map[string]any{"headers": []any{"content-type:application/x"}},
		}},
		{"append then replace", map[string]any{
			"replace": map[string]any{"headers": []any{"vary:Cookie"}},
			"append":  map[string]any{"headers": []any{"vary:Origin", "x-new:2"}},
		}},
		{"rename onto the proxy's via", map[string]any{"rename": map[string]any{"headers": []any{"x-old:via"}}}},
		{"a dropped field is not there", map[string]any{"replace": map[string]any{"headers": []any{"keep-alive-ish:x"}},
			"add": map[string]any{"headers": []any{"x-dropped:added"}}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			h := transformer(t, tc.conf)
			require.True(t, h.ResponseOnView())
			want := upstream.header()
			h.Header(plugin.NewContext(nil, nil, nil, ""), http.StatusOK, want)

			pc := plugin.NewContext(nil, nil, nil, "")
			pc.SetUpstreamFields(upstream)
			h.HeaderView(pc, http.StatusOK)
			got := upstream.header()
			for _, f := range pc.ResponseFields() {
				if !f.Added() {
					delete(got, f.Name)
				}
			}
			for _, f := range pc.ResponseFields() {
				if !f.Deleted() {
					got.Add(f.Name, f.String())
				}
			}
			require.Equal(t, want, got)
		})
	}
}

// TestResponseOnView: an instance runs on the view unless it has json
// operations (a body filter) or its header operations read a field the
// proxy adds before the filters, or change one that frames the body or
// the connection.
func TestResponseOnView(t *testing.T) {
	t.Parallel()
	headers := func(op string, entries ...any) map[string]any {
		return map[string]any{op: map[string]any{"headers": entries}}
	}
	for _, tc := range []struct {
		desc string
		conf map[string]any
		want bool
	}{
		{"nothing", nil, true},
		{"headers", headers("add", "x-a:1"), true},
		{"json", map[string]any{"add": map[string]any{"json": []any{"a:1"}}}, false},
		{"remove server", headers("remove", "server"), true},
		{"append via", headers("append", "via:1.1 x"), true},
		{"rename onto via", headers("rename", "x-a:via"), true},
		{"replace server", headers("replace", "server:mine"), false},
		{"add a latency field", headers("add", "x-kong-upstream-latency:1"), false},
		{"rename via", headers("rename", "via:x-via"), false},
		{"remove content-length", headers("remove", "content-length"), false},
		{"append transfer-encoding", headers("append", "transfer-encoding:chunked"), false},
		{"rename onto connection", headers("rename", "x-a:connection"), false},
		{"replace keep-alive", headers("replace", "keep-alive:x"), false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, transformer(t, tc.conf).ResponseOnView())
		})
	}
}

// TestHeadersAsKong: the header operations as Kong's
// header_transformer.lua applies them, on the map and on the view alike:
// remove, rename, replace, add, append, each condition read on the
// fields the upstream sent (kong.response.get_headers(), taken before
// any change), an entry without a value doing nothing (a rename
// without a new name is refused by the schema).
func TestHeadersAsKong(t *testing.T) {
	t.Parallel()
	upstream := fields{{"X-A", "a1"}, {"X-A", "a2"}, {"X-B", "b"}, {"Content-Type", "text/plain"}}
	for _, tc := range []struct {
		desc string
		conf map[string]any
		want http.Header
	}{
		{"remove then add: the field was there, nothing added", map[string]any{
			"remove": map[string]any{"headers": []any{"x-b"}},
			"add":    map[string]any{"headers": []any{"x-b:new"}},
		}, http.Header{"X-A": {"a1", "a2"}, "Content-Type": {"text/plain"}}},
		{"remove then replace: the field was there, set again", map[string]any{
			"remove":  map[string]any{"headers": []any{"x-b"}},
			"replace": map[string]any{"headers": []any{"x-b:new"}},
		}, http.Header{"X-A": {"a1", "a2"}, "X-B": {"new"}, "Content-Type": {"text/plain"}}},
		{"remove then rename: the values sent are moved", map[string]any{
			"remove": map[string]any{"headers": []any{"x-a"}},
			"rename": map[string]any{"headers": []any{"x-a:x-c"}},
		}, http.Header{"X-C": {"a1", "a2"}, "X-B": {"b"}, "Content-Type": {"text/plain"}}},
		{"rename then replace the new name: it was not there", map[string]any{
			"rename":  map[string]any{"headers": []any{"x-a:x-c"}},
			"replace": map[string]any{"headers": []any{"x-c:new"}},
		}, http.Header{"X-C": {"a1", "a2"}, "X-B": {"b"}, "Content-Type": {"text/plain"}}},
		{"rename then add the new name: it was not there, set", map[string]any{
			"rename": map[string]any{"headers": []any{"x-a:x-c"}},
			"add":    map[string]any{"headers": []any{"x-c:new", "x-a:back"}},
		}, http.Header{"X-C": {"new"}, "X-B": {"b"}, "Content-Type": {"text/plain"}}},
		{"renames read the fields sent", map[string]any{
			"rename": map[string]any{"headers": []any{"x-a:x-b", "x-b:x-c"}},
		}, http.Header{"X-C": {"b"}, "Content-Type": {"text/plain"}}},
		{"rename onto itself removes", map[string]any{
			"rename": map[string]any{"headers": []any{"x-b:X-B"}},
		}, http.Header{"X-A": {"a1", "a2"}, "Content-Type": {"text/plain"}}},
		{"no value: nothing", map[string]any{
			"replace": map[string]any{"headers": []any{"x-a:", "x-b::"}},
			"add":     map[string]any{"headers": []any{"x-d:"}},
		}, http.Header{"X-A": {"a1", "a2"}, "X-B": {"b"}, "Content-Type": {"text/plain"}}},
		// Kong's iter ("^([^:]+):*(.-)$") skips every colon after the
		// name: "x::b" is x and b.
		{"colons after the name are skipped", map[string]any{
			"rename":  map[string]any{"headers": []any{"x-a::x-c"}},
			"replace": map[string]any{"headers": []any{"x-b:::b2"}},
			"add":     map[string]any{"headers": []any{"x-d::d:1"}},
			"append":  map[string]any{"headers": []any{"x-c::a3"}},
		}, http.Header{"X-C": {"a1", "a2", "a3"}, "X-B": {"b2"}, "X-D": {"d:1"}, "Content-Type": {"text/plain"}}},
		// Header names match in any case, as nginx's do.
		{"names in any case", map[string]any{
			"remove":  map[string]any{"headers": []any{"X-b"}},
			"rename":  map[string]any{"headers": []any{"x-A:X-c"}},
			"replace": map[string]any{"headers": []any{"CONTENT-type:text/html"}},
			"add":     map[string]any{"headers": []any{"content-TYPE:ignored", "X-B:back"}},
			"append":  map[string]any{"headers": []any{"X-C:a3", "x-e:e"}},
		}, http.Header{"X-C": {"a1", "a2", "a3"}, "Content-Type": {"text/html"}, "X-E": {"e"}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			h := transformer(t, tc.conf)
			got := upstream.header()
			h.Header(plugin.NewContext(nil, nil, nil, ""), http.StatusOK, got)
			require.Equal(t, tc.want, got, "map")

			pc := plugin.NewContext(nil, nil, nil, "")
			pc.SetUpstreamFields(upstream)
			h.HeaderView(pc, http.StatusOK)
			view := upstream.header()
			for _, f := range pc.ResponseFields() {
				if !f.Added() {
					delete(view, f.Name)
				}
			}
			for _, f := range pc.ResponseFields() {
				if !f.Deleted() {
					view.Add(f.Name, f.String())
				}
			}
			require.Equal(t, tc.want, view, "view")
		})
	}
}
