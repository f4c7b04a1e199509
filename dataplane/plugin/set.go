package plugin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// Set is the plugins of one snapshot, built once: every plugin name in
// priority order with its instances indexed by scope.
type Set struct {
	byName []*byName
	// handlers are every handler built, for Close.
	handlers []Handler
	// byPlugin is the handler of each plugin entity, for Rebuild.
	byPlugin map[*model.Plugin]Handler
}

// Close releases what the set's handlers hold (a logger's queue and its
// connection or file, which deliver what is queued first): a handler
// that holds anything implements io.Closer. Call it once the set serves
// no request any more; a nil set is fine.
func (s *Set) Close() error {
	if s == nil {
		return nil
	}
	return closeAll(s.handlers)
}

func closeAll(hs []Handler) error {
	var errs []error
	for _, h := range hs {
		if c, ok := h.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing plugin %s: %w", h.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Build constructs a handler for every enabled plugin of cfg. A plugin
// missing from the registry fails with ErrIncompatible.
func Build(reg *Registry, cfg *model.Config) (*Set, error) {
	return Rebuild(reg, cfg, nil)
}

// Rebuild is Build for the configuration that follows prev's: a plugin
// entity prev built (the same entity, as a delta that left it alone
// shares it) whose handler is a Reuser that finds cfg unchanged for it,
// and holds no resources, is kept; the others are built. prev is not
// modified and may be nil.
func Rebuild(reg *Registry, cfg *model.Config, prev *Set) (*Set, error) {
	names := map[string]*byName{}
	byPlugin := make(map[*model.Plugin]Handler, len(cfg.Plugins))
	var order []*byName
	var built []Handler
	for _, p := range cfg.Plugins {
		if !p.Enabled || !proxies(p) {
			continue
		}
		f, ok := reg.factories[p.Name]
		if !ok {
			_ = closeAll(built)
			return nil, fmt.Errorf("%w: plugin %q is not available on this data plane", ErrIncompatible, p.Name)
		}
		h, err := prev.reuse(Env{Config: cfg, Plugin: p}, f)
		if err != nil {
			_ = closeAll(built)
			return nil, fmt.Errorf("building plugin %s (%s): %w", p.Name, p.ID, err)
		}
		built = append(built, h)
		byPlugin[p] = h
		if names[p.Name] == nil {
			names[p.Name] = &byName{name: p.Name, priority: Priority(p.Name)}
			order = append(order, names[p.Name])
		}
		names[p.Name].add(&instance{plugin: p, handler: h})
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].priority != order[j].priority {
			return order[i].priority > order[j].priority
		}
		return order[i].name < order[j].name
	})
	return &Set{byName: order, handlers: built, byPlugin: byPlugin}, nil
}

// reuse returns the handler s built for env's plugin when it serves env
// as it is (Reuser) and holds nothing to close; else f builds one.
func (s *Set) reuse(env Env, f Factory) (Handler, error) {
	if s != nil {
		h, ok := s.byPlugin[env.Plugin].(Reuser)
		if _, closer := h.(io.Closer); ok && !closer && h.Reusable(env) {
			return h, nil
		}
	}
	return f(env)
}

// Priority returns the named plugin's priority (higher runs first); 0 for
// a plugin without a schema.
func Priority(name string) int {
	if sc, ok := pluginschema.Lookup(name); ok {
		return sc.Priority
	}
	return 0
}

// Empty reports whether no plugin is configured, so the proxy can skip the
// plugin phases entirely.
func (s *Set) Empty() bool { return s == nil || len(s.byName) == 0 }

// Access resolves, plugin name by plugin name in priority order, the one
// instance that applies to the request (Kong's precedence: the most
// specific scope wins) and runs its access phase. Consumer-scoped
// instances become candidates once an authentication plugin has set
// pc.Consumer. It returns the first Response a plugin gives; the plugins
// after it are still resolved, without running, so that their header
// filters and loggers see that response (Kong's collecting iterator,
// kong/runloop/plugins_iterator.lua, goes on collecting after a delayed
// response).
func (s *Set) Access(pc *Context, r *http.Request) *Response {
	if s.Empty() {
		return nil
	}
	pc.Request = r
	return s.access(pc, func(h Handler) *Response {
		if a, ok := h.(Accessor); ok {
			return a.Access(pc, r)
		}
		return nil
	})
}

// access resolves the instances for pc, as Access says, and runs each
// one's access phase with run until one answers.
func (s *Set) access(pc *Context, run func(Handler) *Response) *Response {
	s.reset(pc)
	route, service := pc.scope()
	var answer *Response
	for _, b := range s.byName {
		consumer := ""
		if pc.Consumer != nil {
			consumer = pc.Consumer.ID
		} else if b.consumerOnly {
			continue
		}
		in := b.resolve(route, service, consumer)
		if in == nil {
			continue
		}
		pc.resolved = append(pc.resolved, resolved{handler: in.handler})
		if answer != nil {
			continue
		}
		pc.current = len(pc.resolved) - 1
		answer = run(in.handler)
	}
	return answer
}

// scope is the ids of pc's route and service, "" for none.
func (pc *Context) scope() (route, service string) {
	if pc.Route != nil {
		route = pc.Route.ID
	}
	if pc.Service != nil {
		service = pc.Service.ID
	}
	return route, service
}

// Globals resolves the global instances (no route, service or consumer)
// for a request answered before the plugins' access phase (no route
// matched, a route's protocol refused), whose header filters and loggers
// still run: Kong falls back to the global plugins when none were
// collected (kong/runloop/plugins_iterator.lua, get_collected_iterator).
func (s *Set) Globals(pc *Context, r *http.Request) {
	if s.Empty() {
		return
	}
	pc.Request = r
	s.reset(pc)
	for _, b := range s.byName {
		if in := b.resolve("", "", ""); in != nil {
			pc.resolved = append(pc.resolved, resolved{handler: in.handler})
		}
	}
}

// reset readies pc for a resolution.
func (s *Set) reset(pc *Context) {
	if pc.resolved == nil {
		pc.resolved = pc.resolvedBuf[:0]
	}
	pc.resolved = pc.resolved[:0]
}

// Resolved returns the handlers Access selected for pc, in priority order.
func (s *Set) Resolved(pc *Context) []Handler {
	out := make([]Handler, len(pc.resolved))
	for i, r := range pc.resolved {
		out[i] = r.handler
	}
	return out
}

// Header runs the header filters of the plugins resolved for pc.
func (s *Set) Header(pc *Context, status int, h http.Header) {
	for i, r := range pc.resolved {
		if f, ok := r.handler.(HeaderFilter); ok {
			pc.current = i
			f.Header(pc, status, h)
		}
	}
}

// NeedsBody reports whether any resolved plugin wants the whole body.
func (s *Set) NeedsBody(pc *Context, status int, h http.Header) bool {
	for i, r := range pc.resolved {
		if f, ok := r.handler.(BodyFilter); ok {
			pc.current = i
			if f.NeedsBody(pc, status, h) {
				return true
			}
		}
	}
	return false
}

// BodyLimit returns how much of the body the resolved plugins that want
// it accept: the largest MaxBody of theirs, or 0 (no limit) when one of
// them is not a BodyLimiter.
func (s *Set) BodyLimit(pc *Context, status int, h http.Header) int64 {
	var limit int64
	for i, r := range pc.resolved {
		f, ok := r.handler.(BodyFilter)
		if !ok {
			continue
		}
		pc.current = i
		if !f.NeedsBody(pc, status, h) {
			continue
		}
		l, ok := r.handler.(BodyLimiter)
		if !ok {
			return 0
		}
		limit = max(limit, l.MaxBody())
	}
	return limit
}

// BodyTooLarge tells the resolved BodyLimiters the body passed the limit.
func (s *Set) BodyTooLarge(pc *Context) {
	for i, r := range pc.resolved {
		if l, ok := r.handler.(BodyLimiter); ok {
			pc.current = i
			l.BodyTooLarge(pc)
		}
	}
}

// Body runs the body filters of the plugins resolved for pc.
func (s *Set) Body(pc *Context, h http.Header, body []byte) []byte {
	for i, r := range pc.resolved {
		if f, ok := r.handler.(BodyFilter); ok {
			pc.current = i
			body = f.Body(pc, h, body)
		}
	}
	return body
}

// Log runs the loggers of the plugins resolved for pc.
func (s *Set) Log(pc *Context, e *LogEntry) {
	for i, r := range pc.resolved {
		if f, ok := r.handler.(Logger); ok {
			pc.current = i
			f.Log(pc, e)
		}
	}
}
