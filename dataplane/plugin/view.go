package plugin

import (
	"github.com/skyport-gw/skyport/dataplane/exchange"
)

// ViewAccessor is an Accessor whose access phase also runs on the
// protocol-neutral view of the request (dataplane/exchange), which the
// proxy's native HTTP/1.1 path serves without adapting the request to an
// *http.Request. Both phases make the same decisions, field changes and
// answers: a handler implements them once, reading the request through a
// small interface of its own that *http.Request and the view satisfy.
//
// A handler that is a ViewAccessor promises that its other phases
// (HeaderFilter, BodyFilter) do not read Context.Request, which is nil on
// the view; a Logger is never taken onto the view.
type ViewAccessor interface {
	Accessor
	// OnView reports whether this instance's access phase can run on the
	// view: its configuration needs nothing the view lacks (the body, the
	// request's context for a shared store).
	OnView() bool
	// AccessView is Access on the view r: fields are changed through
	// r.Header(), the query the upstream gets through
	// Context.SetUpstreamQuery.
	AccessView(pc *Context, r exchange.Request) *Response
}

// onView reports whether h's phases run on the view.
func onView(h Handler) bool {
	v, ok := h.(ViewAccessor)
	if !ok || !v.OnView() {
		return false
	}
	_, logs := h.(Logger)
	return !logs
}

// OnView reports whether every plugin that may run on a request of pc's
// route and service runs on the view: the instance of each plugin name
// that applies before authentication, and any consumer-scoped one that
// authentication could make apply, is a ViewAccessor on the view. The
// proxy serves the request on the view only then, so it decides before
// any plugin ran.
func (s *Set) OnView(pc *Context) bool {
	if s.Empty() {
		return true
	}
	route, service := pc.scope()
	for _, b := range s.byName {
		if b.onView {
			continue
		}
		if !b.consumerOnView {
			return false
		}
		if in := b.resolve(route, service, ""); in != nil && !in.onView {
			return false
		}
	}
	return true
}

// AccessView is Access on the view of the request, for a pc that OnView
// accepted.
func (s *Set) AccessView(pc *Context, r exchange.Request) *Response {
	if s.Empty() {
		return nil
	}
	pc.Request = nil
	return s.access(pc, func(h Handler) *Response {
		if a, ok := h.(ViewAccessor); ok {
			return a.AccessView(pc, r)
		}
		return nil
	})
}

// SetUpstreamQuery replaces the query the upstream gets ("" for none), as
// a plugin on the view changes it (key-auth's hide_credentials).
func (pc *Context) SetUpstreamQuery(q string) { pc.upstreamQuery, pc.queryChanged = q, true }

// UpstreamQuery is the query a plugin set with SetUpstreamQuery; false
// when none did.
func (pc *Context) UpstreamQuery() (string, bool) { return pc.upstreamQuery, pc.queryChanged }
