package plugin_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/model"
)

// viewRecorder is a recorder whose access phase also runs on the view,
// when on is set.
type viewRecorder struct {
	recorder
	on bool
}

func (h *viewRecorder) OnView() bool { return h.on }

func (h *viewRecorder) AccessView(pc *plugin.Context, _ exchange.Request) *plugin.Response {
	return h.Access(pc, nil)
}

// loggingViewRecorder is a viewRecorder with a log phase, which reads the
// adapted request.
type loggingViewRecorder struct{ viewRecorder }

func (h *loggingViewRecorder) Log(*plugin.Context, *plugin.LogEntry) {}

// viewLogger is a logger whose log phase runs on the view, counting the
// entries it got.
type viewLogger struct {
	headerRecorder
	logged *atomic.Int32
}

func (h *viewLogger) OnView() bool                                  { return true }
func (h *viewLogger) Log(*plugin.Context, *plugin.LogEntry)         {}
func (h *viewLogger) LogView(_ *plugin.Context, e *plugin.LogEntry) { h.logged.Add(int32(e.Status)) }

// headerRecorder has a header filter only; it is a Viewer when viewer.
type headerRecorder struct{ name string }

func (h *headerRecorder) Name() string                             { return h.name }
func (h *headerRecorder) Header(*plugin.Context, int, http.Header) {}

type viewHeaderRecorder struct{ headerRecorder }

func (h *viewHeaderRecorder) OnView() bool { return true }

// viewerWithoutAccessView says it runs on the view but has an access
// phase with no AccessView: not on the view.
type viewerWithoutAccessView struct{ recorder }

func (h *viewerWithoutAccessView) OnView() bool { return true }

// TestOnView: a request is served on the view only when every plugin that
// may apply to it (its route's and service's, and the consumer-scoped
// ones authentication could select) runs there; AccessView then runs the
// same instances in the same order as Access.
func TestOnView(t *testing.T) {
	t.Parallel()
	reg := plugin.NewRegistry()
	logged := &atomic.Int32{}
	for _, n := range []string{"key-auth", "rate-limiting", "cors", "http-log", "acl",
		"response-transformer", "response-ratelimiting", "jwt", "prometheus"} {
		reg.Register(n, func(env plugin.Env) (plugin.Handler, error) {
			rec := recorder{name: n, id: env.Plugin.ID}
			if n == "key-auth" {
				rec.authenticate = alice
			}
			switch {
			case n == "response-transformer":
				return &viewHeaderRecorder{headerRecorder{name: n}}, nil
			case n == "response-ratelimiting":
				return &headerRecorder{name: n}, nil
			case n == "jwt":
				return &viewerWithoutAccessView{rec}, nil
			case n == "cors":
				return &rec, nil
			case n == "prometheus":
				return &viewLogger{headerRecorder{name: n}, logged}, nil
			case n == "http-log":
				return &loggingViewRecorder{viewRecorder{recorder: rec, on: true}}, nil
			}
			return &viewRecorder{recorder: rec, on: n != "acl"}, nil
		})
	}
	auth := scoped("auth", "key-auth", "", "", "")
	limit := scoped("limit", "rate-limiting", routeID, "", "")
	tests := []struct {
		desc    string
		plugins []*model.Plugin
		want    bool
	}{
		{"none", nil, true},
		{"view plugins", []*model.Plugin{auth, limit, scoped("limit-alice", "rate-limiting", "", "", consumerID)}, true},
		{"another route's plugin", []*model.Plugin{auth, scoped("cors", "cors", "r2", "", "")}, true},
		{"a plugin without a view phase", []*model.Plugin{auth, scoped("cors", "cors", "", serviceID, "")}, false},
		{"a consumer's plugin without a view phase", []*model.Plugin{auth, scoped("cors", "cors", "r2", "", consumerID)}, false},
		{"a view plugin configured off it", []*model.Plugin{auth, scoped("acl", "acl", routeID, "", "")}, false},
		{"another route's instance off it", []*model.Plugin{auth, limit, scoped("acl", "acl", "r2", "", "")}, true},
		{"a logger", []*model.Plugin{auth, scoped("log", "http-log", "", "", "")}, false},
		{"a logger on the view", []*model.Plugin{auth, scoped("prom", "prometheus", "", "", "")}, true},
		{"a header filter that is a Viewer", []*model.Plugin{auth, scoped("rt", "response-transformer", "", "", "")}, true},
		{"a header filter that is not", []*model.Plugin{auth, scoped("rrl", "response-ratelimiting", "", "", "")}, false},
		{"an access phase without AccessView", []*model.Plugin{auth, scoped("jwt", "jwt", "", "", "")}, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			set, err := plugin.Build(reg, &model.Config{Plugins: tc.plugins})
			require.NoError(t, err)
			ctx := func() *plugin.Context {
				return plugin.NewContext(&model.Route{Base: model.Base{ID: routeID}},
					&model.Service{Base: model.Base{ID: serviceID}}, nil, "127.0.0.1")
			}
			require.Equal(t, tc.want, set.OnView(ctx()))
			if !tc.want {
				return
			}
			pc, vc := ctx(), ctx()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			require.Nil(t, set.Access(pc, r))
			require.Nil(t, set.AccessView(vc, exchange.NewHTTPRequest(r)))
			require.Equal(t, pc.Var("trace"), vc.Var("trace"))
			require.Equal(t, set.Resolved(pc), set.Resolved(vc))
			before := logged.Load()
			set.LogView(vc, &plugin.LogEntry{Status: http.StatusOK})
			logs := slices.ContainsFunc(tc.plugins, func(p *model.Plugin) bool { return p.Name == "prometheus" })
			require.Equal(t, logs, set.Logs(vc))
			if logs {
				require.Equal(t, int32(http.StatusOK), logged.Load()-before)
			}
		})
	}
}

// TestRequestHeader: a header filter reads the request's fields through
// RequestHeader on either path, as the access phases left them.
func TestRequestHeader(t *testing.T) {
	t.Parallel()
	reg := plugin.NewRegistry()
	reg.Register("cors", func(env plugin.Env) (plugin.Handler, error) {
		return &viewRecorder{recorder: recorder{name: "cors", id: env.Plugin.ID}, on: true}, nil
	})
	set, err := plugin.Build(reg, &model.Config{Plugins: []*model.Plugin{scoped("cors", "cors", "", "", "")}})
	require.NoError(t, err)
	ctx := func() *plugin.Context { return plugin.NewContext(&model.Route{}, nil, nil, "127.0.0.1") }
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Origin", "http://a.example")
	r.Header.Set("X-Empty", "")
	pc, vc := ctx(), ctx()
	require.Nil(t, set.Access(pc, r))
	require.Nil(t, set.AccessView(vc, exchange.NewHTTPRequest(r)))
	for _, c := range []*plugin.Context{pc, vc} {
		v, ok := c.RequestHeader("origin")
		require.True(t, ok)
		require.Equal(t, "http://a.example", v)
		v, ok = c.RequestHeader("X-Empty")
		require.True(t, ok)
		require.Empty(t, v)
		_, ok = c.RequestHeader("X-Absent")
		require.False(t, ok)
	}
	_, ok := ctx().RequestHeader("Origin")
	require.False(t, ok, "no access phase ran")
}

// fieldSetter is a ViewHeaderFilter setting its fields, in order.
type fieldSetter struct {
	headerRecorder
	fields []setField
}

// setField is a field a fieldSetter sets: value, or num when it is not 0
// (SetResponseFieldInt).
type setField struct {
	name, value string
	num         int64
}

func (h *fieldSetter) Header(_ *plugin.Context, _ int, out http.Header) {
	for _, f := range h.fields {
		if f.num != 0 {
			out.Set(f.name, strconv.FormatInt(f.num, 10))
			continue
		}
		out.Set(f.name, f.value)
	}
}

func (h *fieldSetter) HeaderView(pc *plugin.Context, _ int) {
	for _, f := range h.fields {
		if f.num != 0 {
			pc.SetResponseFieldInt(f.name, f.num)
			continue
		}
		pc.SetResponseField(f.name, f.value)
	}
}

// bodySetter is a fieldSetter with a body filter.
type bodySetter struct{ fieldSetter }

func (h *bodySetter) NeedsBody(*plugin.Context, int, http.Header) bool { return false }
func (h *bodySetter) Body(_ *plugin.Context, _ http.Header, b []byte) []byte {
	return b
}

// TestHeadersOnView: the response phases run without a header map only
// when every header filter resolved is a ViewHeaderFilter and none is a
// body filter; HeaderView then sets what Header sets, a later plugin's
// field replacing an earlier one's of the same name in any case.
func TestHeadersOnView(t *testing.T) {
	t.Parallel()
	reg := plugin.NewRegistry()
	reg.Register("key-auth", func(plugin.Env) (plugin.Handler, error) {
		return &fieldSetter{headerRecorder{"key-auth"},
			[]setField{{"x-a", "1", 0}, {"X-B", "1", 0}, {"x-a", "", 2}, {"x-d", "", -40}}}, nil
	})
	reg.Register("rate-limiting", func(plugin.Env) (plugin.Handler, error) {
		return &fieldSetter{headerRecorder{"rate-limiting"}, []setField{{"X-B", "", 2}, {"x-c", "3", 0}, {"X-D", "4", 0}}}, nil
	})
	reg.Register("response-ratelimiting", func(plugin.Env) (plugin.Handler, error) {
		return &headerRecorder{name: "response-ratelimiting"}, nil
	})
	reg.Register("response-transformer", func(plugin.Env) (plugin.Handler, error) {
		return &bodySetter{fieldSetter{headerRecorder{"response-transformer"}, nil}}, nil
	})
	setters := []*model.Plugin{scoped("a", "key-auth", "", "", ""), scoped("b", "rate-limiting", "", "", "")}
	for _, tc := range []struct {
		desc    string
		plugins []*model.Plugin
		want    bool
	}{
		{"setters", setters, true},
		{"none", nil, true},
		{"a header filter with a map", append(slices.Clone(setters), scoped("c", "response-ratelimiting", "", "", "")), false},
		{"a body filter", append(slices.Clone(setters), scoped("c", "response-transformer", "", "", "")), false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			set, err := plugin.Build(reg, &model.Config{Plugins: tc.plugins})
			require.NoError(t, err)
			pc := plugin.NewContext(&model.Route{Base: model.Base{ID: routeID}},
				&model.Service{Base: model.Base{ID: serviceID}}, nil, "127.0.0.1")
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			require.Nil(t, set.Access(pc, r))
			require.Equal(t, tc.want, set.HeadersOnView(pc))
			if !tc.want {
				return
			}
			want := http.Header{"X-A": {"upstream"}, "X-B": {"upstream", "again"}}
			set.Header(pc, http.StatusOK, want)
			set.HeaderView(pc, http.StatusOK)
			got := http.Header{"X-A": {"upstream"}, "X-B": {"upstream", "again"}}
			for _, f := range pc.ResponseFields() {
				got[f.Name] = nil
			}
			for _, f := range pc.ResponseFields() {
				got.Add(f.Name, f.String())
				require.Equal(t, f.String(), string(f.AppendValue(nil)))
			}
			require.Equal(t, want, got)
		})
	}
}

// releasable is per-request state counting its releases.
type releasable struct{ released int }

func (r *releasable) Release() { r.released++ }

// stateKeeper keeps a releasable, or a plain value, with SetState.
type stateKeeper struct {
	headerRecorder
	state any
}

func (h *stateKeeper) Access(pc *plugin.Context, _ *http.Request) *plugin.Response {
	pc.SetState(h.state)
	return nil
}

// TestContextReset: a context reset for a new request (or released)
// releases the states that are Releasers once, and holds nothing of the
// request before.
func TestContextReset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc  string
		state any
		want  int
	}{
		{"a releaser", &releasable{}, 1},
		{"another state", "kept", 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			reg := plugin.NewRegistry()
			keeper := &stateKeeper{headerRecorder{"key-auth"}, tc.state}
			reg.Register("key-auth", func(plugin.Env) (plugin.Handler, error) { return keeper, nil })
			set, err := plugin.Build(reg, &model.Config{Plugins: []*model.Plugin{scoped("a", "key-auth", "", "", "")}})
			require.NoError(t, err)
			route := &model.Route{Base: model.Base{ID: routeID}}
			pc := plugin.NewContext(route, nil, nil, "127.0.0.1")
			require.Nil(t, set.Access(pc, httptest.NewRequest(http.MethodGet, "/", nil)))
			pc.SetResponseField("X-A", "1")
			pc.Reset(route, nil, nil, "10.0.0.1")
			pc.Release()
			if r, ok := tc.state.(*releasable); ok {
				require.Equal(t, tc.want, r.released)
			}
			require.Empty(t, pc.ResponseFields())
			require.Empty(t, set.Resolved(pc))
			require.Equal(t, "10.0.0.1", pc.ClientIP)
		})
	}
}

// TestResponseFieldChanges: the changes recorded with Set, Add and
// DelResponseField, applied to the upstream's fields as the proxy's
// view applies them (a set or deleted name drops the upstream's, then
// every field but a deletion is written), give what http.Header's Set,
// Add and Del give on the map.
func TestResponseFieldChanges(t *testing.T) {
	t.Parallel()
	type op struct{ kind, name, value string }
	for _, tc := range []struct {
		desc string
		ops  []op
	}{
		{"set", []op{{"set", "x-a", "1"}}},
		{"add after the upstream's", []op{{"add", "Vary", "Origin"}}},
		{"add twice", []op{{"add", "Vary", "Origin"}, {"add", "vary", "Accept"}}},
		{"set then add", []op{{"set", "Vary", "Origin"}, {"add", "Vary", "X"}}},
		{"add then set", []op{{"add", "Vary", "Origin"}, {"set", "Vary", "X"}}},
		{"delete", []op{{"del", "X-Up", ""}}},
		{"delete then add", []op{{"del", "X-Up", ""}, {"add", "X-Up", "2"}}},
		{"add then delete", []op{{"add", "X-Up", "2"}, {"del", "x-up", ""}}},
		{"delete then set", []op{{"del", "X-Up", ""}, {"set", "X-Up", "3"}, {"set", "X-B", "1"}}},
		{"several names", []op{{"set", "A", "1"}, {"add", "Vary", "Origin"}, {"del", "A", ""}, {"add", "A", "2"}, {"set", "B", "1"}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			upstream := func() http.Header {
				return http.Header{"Vary": {"Accept-Encoding"}, "X-Up": {"1", "1b"}, "A": {"0"}}
			}
			want := upstream()
			pc := plugin.NewContext(nil, nil, nil, "")
			for _, o := range tc.ops {
				switch o.kind {
				case "set":
					want.Set(o.name, o.value)
					pc.SetResponseField(o.name, o.value)
				case "add":
					want.Add(o.name, o.value)
					pc.AddResponseField(o.name, o.value)
				case "del":
					want.Del(o.name)
					pc.DelResponseField(o.name)
				}
			}
			got := upstream()
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
