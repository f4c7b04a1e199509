package plugin

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// ErrIncompatible reports a snapshot naming a plugin this data plane does
// not have (Kong's plugin_set_incompatible).
var ErrIncompatible = fmt.Errorf("plugin_set_incompatible")

// Registry maps plugin names to factories. The one registry of shipped
// plugins is built by package plugins (dataplane/plugins).
type Registry struct {
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Register adds a plugin.
func (r *Registry) Register(name string, f Factory) { r.factories[name] = f }

// Names lists the registered plugins, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.factories))
	for n := range r.factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Set is the plugins of one snapshot, built once.
type Set struct {
	handlers []instance
}

type instance struct {
	plugin   *model.Plugin
	handler  Handler
	priority int
}

// Build constructs a handler for every enabled plugin of cfg. A plugin
// missing from the registry fails with ErrIncompatible.
func Build(reg *Registry, cfg *model.Config) (*Set, error) {
	s := &Set{}
	for _, p := range cfg.Plugins {
		if !p.Enabled {
			continue
		}
		f, ok := reg.factories[p.Name]
		if !ok {
			return nil, fmt.Errorf("%w: plugin %q is not available on this data plane", ErrIncompatible, p.Name)
		}
		h, err := f(Env{Config: cfg, Plugin: p})
		if err != nil {
			return nil, fmt.Errorf("building plugin %s (%s): %w", p.Name, p.ID, err)
		}
		prio := 0
		if sc, ok := pluginschema.Lookup(p.Name); ok {
			prio = sc.Priority
		}
		s.handlers = append(s.handlers, instance{plugin: p, handler: h, priority: prio})
	}
	sort.SliceStable(s.handlers, func(i, j int) bool { return s.handlers[i].priority > s.handlers[j].priority })
	return s, nil
}

// Empty reports whether no plugin is configured, so the proxy can skip the
// plugin phases entirely.
func (s *Set) Empty() bool { return s == nil || len(s.handlers) == 0 }

// Access runs the access phase of the plugins that apply to pc, in priority
// order, and returns the first Response a plugin gives.
func (s *Set) Access(pc *Context, r *http.Request) *Response {
	if s.Empty() {
		return nil
	}
	pc.resolved = pc.resolved[:0]
	for _, in := range s.handlers {
		if !applies(in.plugin, pc) {
			continue
		}
		pc.resolved = append(pc.resolved, in.handler)
		if a, ok := in.handler.(Accessor); ok {
			if resp := a.Access(pc, r); resp != nil {
				return resp
			}
		}
	}
	return nil
}

// Header runs the header filters of the plugins resolved for pc.
func (s *Set) Header(pc *Context, status int, h http.Header) {
	for _, hd := range pc.resolved {
		if f, ok := hd.(HeaderFilter); ok {
			f.Header(pc, status, h)
		}
	}
}

// NeedsBody reports whether any resolved plugin wants the whole body.
func (s *Set) NeedsBody(pc *Context, status int, h http.Header) bool {
	for _, hd := range pc.resolved {
		if f, ok := hd.(BodyFilter); ok && f.NeedsBody(pc, status, h) {
			return true
		}
	}
	return false
}

// Body runs the body filters of the plugins resolved for pc.
func (s *Set) Body(pc *Context, h http.Header, body []byte) []byte {
	for _, hd := range pc.resolved {
		if f, ok := hd.(BodyFilter); ok {
			body = f.Body(pc, h, body)
		}
	}
	return body
}

// Log runs the loggers of the plugins resolved for pc.
func (s *Set) Log(pc *Context, e *LogEntry) {
	for _, hd := range pc.resolved {
		if f, ok := hd.(Logger); ok {
			f.Log(pc, e)
		}
	}
}

// applies is the simplest scoping rule; Kong's full precedence (one
// instance per plugin name, most specific scope wins, consumer scope
// resolved after authentication) replaces it in the plugins work.
func applies(p *model.Plugin, pc *Context) bool {
	if p.Route != nil && (pc.Route == nil || pc.Route.ID != p.Route.ID) {
		return false
	}
	if p.Service != nil && (pc.Service == nil || pc.Service.ID != p.Service.ID) {
		return false
	}
	if p.Consumer != nil && (pc.Consumer == nil || pc.Consumer.ID != p.Consumer.ID) {
		return false
	}
	return true
}
