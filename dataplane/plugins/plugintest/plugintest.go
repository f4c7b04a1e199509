// Package plugintest helps test plugins through the framework, as the
// proxy drives them: a small snapshot fixture, plugins normalized by the
// shared schema, and one request run through the access and header
// phases.
package plugintest

import (
	"net/http"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// IDs of the fixture's entities.
const (
	ServiceID = "00000000-0000-4000-8000-000000000001"
	RouteID   = "00000000-0000-4000-8000-000000000002"
	AliceID   = "00000000-0000-4000-8000-0000000000a1"
	BobID     = "00000000-0000-4000-8000-0000000000b0"
)

// Fixture returns a snapshot with one service, one route on it and two
// consumers, alice (custom_id a-1) and bob.
func Fixture() *model.Config {
	str := func(s string) *string { return &s }
	return &model.Config{
		Services:  []*model.Service{{Base: model.Base{ID: ServiceID}, Name: str("svc")}},
		Routes:    []*model.Route{{Base: model.Base{ID: RouteID}, Name: str("rt"), Service: &model.Ref{ID: ServiceID}}},
		Consumers: []*model.Consumer{{Base: model.Base{ID: AliceID}, Username: str("alice"), CustomID: str("a-1")}, {Base: model.Base{ID: BobID}, Username: str("bob")}},
	}
}

// Plugin returns an enabled, global plugin whose config was normalized by
// the shared schema; it fails the test on a schema violation.
func Plugin(t testing.TB, id, name string, cfg map[string]any) *model.Plugin {
	t.Helper()
	out, errs, known := pluginschema.Normalize(name, cfg)
	if !known || len(errs) > 0 {
		t.Fatalf("plugin %s config %v: known=%v errors=%v", name, cfg, known, errs)
	}
	p := model.NewPlugin()
	p.ID, p.Name, p.Config = id, name, out
	return p
}

// RequestID is the request id of every request Run runs.
const RequestID = "0123456789abcdef0123456789abcdef"

// ErrorJSON is the body kong.response.error gives msg for a request
// without Accept: Kong's JSON template (kong/tools/http.lua) with
// RequestID.
func ErrorJSON(msg string) string {
	return "{\n  \"message\":\"" + msg + "\",\n  \"request_id\":\"" + RequestID + "\"\n}"
}

// ErrorPlain is the text/plain body of Kong's error pages
// (kong/error_handlers.lua, error_default_type) for msg, with RequestID.
func ErrorPlain(msg string) string { return msg + "\nrequest_id: " + RequestID + "\n" }

// Result is what one request produced.
type Result struct {
	// Response is the answer a plugin gave instead of proxying, rendered
	// for the request (with RequestID) and with the header filters
	// applied; nil when the request would be proxied.
	Response *plugin.Response
	// Header is the response header after the header filters; for a
	// proxied request it starts from upstream.
	Header http.Header
	// Context is the request's plugin context.
	Context *plugin.Context
}

// Run builds the set for cfg with reg and runs r through the access
// phase, then the header phase on either the plugin's answer or an
// upstream answer with the given headers.
func Run(t testing.TB, reg *plugin.Registry, cfg *model.Config, r *http.Request, upstream http.Header, opts ...Option) Result {
	t.Helper()
	set, err := plugin.Build(reg, cfg)
	if err != nil {
		t.Fatalf("building plugins: %v", err)
	}
	t.Cleanup(func() { _ = set.Close() })
	return RunSet(set, cfg, r, upstream, opts...)
}

// Option adjusts the request context Run builds.
type Option func(pc *plugin.Context)

// WithCaptures sets the router's path captures.
func WithCaptures(c map[string]string) Option { return func(pc *plugin.Context) { pc.Captures = c } }

// WithClientIP sets the client address (default 192.0.2.10).
func WithClientIP(ip string) Option { return func(pc *plugin.Context) { pc.ClientIP = ip } }

// WithConnection sets the connection's serial number and its request
// count (nginx's $connection and $connection_requests).
func WithConnection(serial, requests uint64) Option {
	return func(pc *plugin.Context) { pc.Connection, pc.ConnectionRequests = serial, requests }
}

// RunSet is Run with a set already built (to keep state across requests).
func RunSet(set *plugin.Set, cfg *model.Config, r *http.Request, upstream http.Header, opts ...Option) Result {
	var route *model.Route
	var svc *model.Service
	if len(cfg.Routes) > 0 {
		route = cfg.Routes[0]
	}
	if len(cfg.Services) > 0 {
		svc = cfg.Services[0]
	}
	pc := plugin.NewContext(route, svc, nil, "192.0.2.10")
	for _, o := range opts {
		o(pc)
	}
	if resp := set.Access(pc, r); resp != nil {
		resp.Render(r, RequestID)
		set.Header(pc, resp.Status, resp.Header)
		return Result{Response: resp, Header: resp.Header, Context: pc}
	}
	h := upstream.Clone()
	if h == nil {
		h = http.Header{}
	}
	set.Header(pc, http.StatusOK, h)
	return Result{Header: h, Context: pc}
}

// Registry returns a registry with one plugin.
func Registry(name string, f plugin.Factory) *plugin.Registry {
	r := plugin.NewRegistry()
	r.Register(name, f)
	return r
}
