package plugin_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/model"
)

// recorder is a fake plugin: its access phase appends its instance id to
// the request's trace, and with authenticate set it identifies a consumer.
type recorder struct {
	name, id     string
	authenticate *model.Consumer
}

func (h *recorder) Name() string { return h.name }

func (h *recorder) Access(pc *plugin.Context, _ *http.Request) *plugin.Response {
	trace, _ := pc.Var("trace").([]string)
	pc.SetVar("trace", append(trace, h.id))
	if h.authenticate != nil {
		pc.Consumer = h.authenticate
	}
	return nil
}

const (
	routeID    = "r1"
	serviceID  = "s1"
	consumerID = "c1"
)

var alice = &model.Consumer{Base: model.Base{ID: consumerID}}

func registry(names ...string) *plugin.Registry {
	reg := plugin.NewRegistry()
	for _, n := range names {
		reg.Register(n, func(env plugin.Env) (plugin.Handler, error) {
			h := &recorder{name: n, id: env.Plugin.ID}
			if n == "key-auth" {
				h.authenticate = alice
			}
			return h, nil
		})
	}
	return reg
}

func scoped(id, name, route, service, consumer string) *model.Plugin {
	p := model.NewPlugin()
	p.ID, p.Name = id, name
	if route != "" {
		p.Route = &model.Ref{ID: route}
	}
	if service != "" {
		p.Service = &model.Ref{ID: service}
	}
	if consumer != "" {
		p.Consumer = &model.Ref{ID: consumer}
	}
	return p
}

func run(t *testing.T, plugins []*model.Plugin, route, service string, https bool) []string {
	t.Helper()
	set, err := plugin.Build(registry("key-auth", "rate-limiting", "cors", "acl"), &model.Config{Plugins: plugins})
	require.NoError(t, err)
	var rt *model.Route
	var svc *model.Service
	if route != "" {
		rt = &model.Route{Base: model.Base{ID: route}}
	}
	if service != "" {
		svc = &model.Service{Base: model.Base{ID: service}}
	}
	pc := plugin.NewContext(rt, svc, nil, "127.0.0.1")
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if https {
		r.TLS = &tls.ConnectionState{}
	}
	require.Nil(t, set.Access(pc, r))
	trace, _ := pc.Var("trace").([]string)
	return trace
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	all := []*model.Plugin{
		scoped("global", "rate-limiting", "", "", ""),
		scoped("service", "rate-limiting", "", serviceID, ""),
		scoped("route", "rate-limiting", routeID, "", ""),
		scoped("consumer", "rate-limiting", "", "", consumerID),
		scoped("route+service", "rate-limiting", routeID, serviceID, ""),
		scoped("service+consumer", "rate-limiting", "", serviceID, consumerID),
		scoped("route+consumer", "rate-limiting", routeID, "", consumerID),
		scoped("route+service+consumer", "rate-limiting", routeID, serviceID, consumerID),
	}
	auth := scoped("auth", "key-auth", "", "", "")
	tests := []struct {
		desc   string
		drop   int // how many of the most specific instances are absent
		route  string
		svc    string
		want   string
		noAuth bool
	}{
		{desc: "route+service+consumer wins", want: "route+service+consumer", route: routeID, svc: serviceID},
		{desc: "then route+consumer", drop: 1, want: "route+consumer", route: routeID, svc: serviceID},
		{desc: "then service+consumer", drop: 2, want: "service+consumer", route: routeID, svc: serviceID},
		{desc: "then route+service", drop: 3, want: "route+service", route: routeID, svc: serviceID},
		{desc: "then consumer", drop: 4, want: "consumer", route: routeID, svc: serviceID},
		{desc: "then route", drop: 5, want: "route", route: routeID, svc: serviceID},
		{desc: "then service", drop: 6, want: "service", route: routeID, svc: serviceID},
		{desc: "then global", drop: 7, want: "global", route: routeID, svc: serviceID},
		{desc: "other route falls to service", want: "service+consumer", route: "r2", svc: serviceID},
		{desc: "no consumer without authentication", noAuth: true, want: "route+service", route: routeID, svc: serviceID},
		{desc: "no route or service", want: "consumer"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			ps := append([]*model.Plugin{}, all[:len(all)-tt.drop]...)
			if !tt.noAuth {
				ps = append(ps, auth)
			}
			trace := run(t, ps, tt.route, tt.svc, false)
			want := []string{tt.want}
			if !tt.noAuth {
				want = []string{"auth", tt.want}
			}
			require.Equal(t, want, trace)
		})
	}
}

func TestPriorityOrder(t *testing.T) {
	t.Parallel()
	ps := []*model.Plugin{
		scoped("acl", "acl", "", "", ""),
		scoped("rl", "rate-limiting", "", "", ""),
		scoped("cors", "cors", routeID, "", ""),
		scoped("key", "key-auth", "", serviceID, ""),
	}
	require.Equal(t, []string{"cors", "key", "acl", "rl"}, run(t, ps, routeID, serviceID, false))
}

func TestConsumerScopedAfterAuthentication(t *testing.T) {
	t.Parallel()
	// cors runs before key-auth, so a consumer-scoped cors never applies;
	// rate-limiting runs after and picks the consumer's instance.
	ps := []*model.Plugin{
		scoped("cors-consumer", "cors", "", "", consumerID),
		scoped("key", "key-auth", "", "", ""),
		scoped("rl-global", "rate-limiting", "", "", ""),
		scoped("rl-consumer", "rate-limiting", "", "", consumerID),
	}
	require.Equal(t, []string{"key", "rl-consumer"}, run(t, ps, routeID, serviceID, false))
}

// TestProtocolsAndDisabled follows Kong's plugins iterator: a plugin runs
// on every proxied request, whatever its scheme, when one of its
// protocols is an HTTP one (so a grpc-only plugin runs on gRPC routes); a
// stream-only plugin and a disabled one never run.
func TestProtocolsAndDisabled(t *testing.T) {
	t.Parallel()
	withProtocols := func(p *model.Plugin, protocols ...string) *model.Plugin {
		p.Protocols = protocols
		return p
	}
	disabled := scoped("service-disabled", "acl", "", serviceID, "")
	disabled.Enabled = false
	ps := []*model.Plugin{
		scoped("global", "rate-limiting", "", "", ""),
		withProtocols(scoped("route-https", "rate-limiting", routeID, "", ""), "https"),
		withProtocols(scoped("grpc", "cors", "", "", ""), "grpc", "grpcs"),
		withProtocols(scoped("stream", "key-auth", "", "", ""), "tcp", "tls"),
		disabled,
	}
	for _, tls := range []bool{false, true} {
		require.Equal(t, []string{"grpc", "route-https"}, run(t, ps, routeID, serviceID, tls))
	}
}

func TestBuildIncompatible(t *testing.T) {
	t.Parallel()
	_, err := plugin.Build(registry("cors"), &model.Config{Plugins: []*model.Plugin{scoped("x", "key-auth", "", "", "")}})
	require.True(t, errors.Is(err, plugin.ErrIncompatible))

	set, err := plugin.Build(registry(), &model.Config{})
	require.NoError(t, err)
	require.True(t, set.Empty())
}

func TestFactoryError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	reg := plugin.NewRegistry()
	reg.Register("cors", func(plugin.Env) (plugin.Handler, error) { return nil, boom })
	_, err := plugin.Build(reg, &model.Config{Plugins: []*model.Plugin{scoped("x", "cors", "", "", "")}})
	require.ErrorIs(t, err, boom)
}

func TestJSONMessageShape(t *testing.T) {
	t.Parallel()
	resp := plugin.JSONMessage(http.StatusForbidden, `say "no"`)
	require.Equal(t, http.StatusForbidden, resp.Status)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	require.JSONEq(t, `{"message":"say \"no\""}`, string(resp.Body))
}

// stateful keeps what its access phase saw for its header filter.
type stateful struct{ name string }

func (h *stateful) Name() string { return h.name }

func (h *stateful) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	pc.SetState(h.name + ":" + r.URL.Path)
	return nil
}

func (h *stateful) Header(pc *plugin.Context, _ int, out http.Header) {
	s, _ := pc.State().(string)
	out.Add("X-State", s)
}

func TestPerPluginState(t *testing.T) {
	t.Parallel()
	reg := plugin.NewRegistry()
	for _, n := range []string{"cors", "acl"} {
		reg.Register(n, func(plugin.Env) (plugin.Handler, error) { return &stateful{name: n}, nil })
	}
	set, err := plugin.Build(reg, &model.Config{Plugins: []*model.Plugin{scoped("a", "acl", "", "", ""), scoped("c", "cors", "", "", "")}})
	require.NoError(t, err)
	pc := plugin.NewContext(nil, nil, nil, "127.0.0.1")
	require.Nil(t, set.Access(pc, httptest.NewRequest(http.MethodGet, "/p", nil)))
	h := http.Header{}
	set.Header(pc, http.StatusOK, h)
	require.Equal(t, []string{"cors:/p", "acl:/p"}, h.Values("X-State"))
	require.Nil(t, pc.Var("missing"))
}

// exiter answers every request; tagger tags every response.
type exiter struct{}

func (exiter) Name() string { return "cors" }

func (exiter) Access(*plugin.Context, *http.Request) *plugin.Response {
	return plugin.Error(http.StatusUnauthorized, "")
}

type tagger struct{ ran *bool }

func (t tagger) Name() string { return "acl" }

func (t tagger) Access(*plugin.Context, *http.Request) *plugin.Response { *t.ran = true; return nil }

func (t tagger) Header(_ *plugin.Context, _ int, h http.Header) { h.Add("X-Tag", "acl") }

// TestCollectedAfterAnAnswer: the plugins after the one that answered
// are collected without running, so their header filters see the answer
// (kong/runloop/plugins_iterator.lua get_next_and_collect).
func TestCollectedAfterAnAnswer(t *testing.T) {
	t.Parallel()
	ran := false
	reg := plugin.NewRegistry()
	reg.Register("cors", func(plugin.Env) (plugin.Handler, error) { return exiter{}, nil })
	reg.Register("acl", func(plugin.Env) (plugin.Handler, error) { return tagger{ran: &ran}, nil })
	set, err := plugin.Build(reg, &model.Config{Plugins: []*model.Plugin{
		scoped("c", "cors", "", "", ""), scoped("a", "acl", "", "", "")}})
	require.NoError(t, err)
	pc := plugin.NewContext(nil, nil, nil, "127.0.0.1")
	resp := set.Access(pc, httptest.NewRequest(http.MethodGet, "/", nil))
	require.NotNil(t, resp)
	require.False(t, ran, "acl's access phase did not run")
	set.Header(pc, resp.Status, resp.Header)
	require.Equal(t, []string{"acl"}, resp.Header.Values("X-Tag"))
	require.Len(t, set.Resolved(pc), 2)
}

// TestGlobals: before the plugins ran (no route matched), only the
// global instances are resolved (kong/runloop/plugins_iterator.lua
// get_collected_iterator falls back to the global iterator).
func TestGlobals(t *testing.T) {
	t.Parallel()
	ps := []*model.Plugin{
		scoped("global", "rate-limiting", "", "", ""),
		scoped("route", "cors", routeID, "", ""),
		scoped("consumer", "acl", "", "", consumerID),
	}
	set, err := plugin.Build(registry("rate-limiting", "cors", "acl"), &model.Config{Plugins: ps})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	pc := plugin.NewContext(&model.Route{Base: model.Base{ID: routeID}}, nil, nil, "127.0.0.1")
	set.Globals(pc, r)
	hs := set.Resolved(pc)
	require.Len(t, hs, 1)
	require.Equal(t, "global", hs[0].(*recorder).id)
	require.Same(t, r, pc.Request)
}
