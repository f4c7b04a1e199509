// Package plugin is the data plane's plugin framework: the per-request
// Context plugins share, the phase interfaces a plugin handler implements,
// the Registry of plugin factories, and Set, the plugins of one snapshot
// compiled once and resolved per request with Kong's scoping precedence and
// priority order.
//
// The proxy drives a request through the phases:
//
//	pc := plugin.NewContext(route, service, captures, clientIP)
//	if resp := set.Access(pc, r); resp != nil {
//		resp.Render(r, requestID) // Error and ErrorPage bodies, for r's Accept
//		set.Header(…); set.Body(…) // the plugins after the one that answered too
//		write resp and stop
//	}
//	… proxy …
//	set.Header(pc, status, header)      // upstream response headers
//	body = set.Body(pc, header, body)   // only when set.NeedsBody(pc)
//	set.Log(pc, entry)                  // after the response
package plugin

import (
	"net/http"
	"time"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/internal/model"
)

// Context is one request's state, shared by the plugins that run on it.
type Context struct {
	// Route and Service are what the router matched (Service may be nil
	// for a route without one).
	Route   *model.Route
	Service *model.Service
	// Consumer and Credential are set by the authentication plugin that
	// identified the caller; later plugins (acl, rate-limiting by consumer,
	// consumer-scoped plugins) read them.
	Consumer   *model.Consumer
	Credential model.Entity
	// Captures are the regex path captures: named ones by name, numbered
	// ones as "0", "1", …
	Captures map[string]string
	// ClientIP is the client's address, without port.
	ClientIP string
	// Start is when the data plane received the request.
	Start time.Time
	// Vars lets plugins hand values to other plugins; nil until a plugin
	// calls SetVar. A plugin's own per-request state goes in SetState.
	Vars map[string]any
	// Request is the client's request, as the access phase left it; the
	// header filters and loggers read it. Set by Set.Access and
	// Set.Globals.
	Request *http.Request
	// Connection and ConnectionRequests are nginx's $connection (the
	// client connection's serial number) and $connection_requests (the
	// requests made on it so far, this one included); 0 when the server
	// does not count them.
	Connection, ConnectionRequests uint64
	// UpstreamPath, when a plugin sets it (request-transformer's
	// replace.uri), replaces the path sent to the upstream.
	UpstreamPath string

	// upstreamQuery replaces the upstream request's query when
	// queryChanged (SetUpstreamQuery).
	upstreamQuery string
	queryChanged  bool
	// view is the request AccessView ran on, nil on the adapter path.
	view exchange.Request

	// ids gives the request id, made when first asked for.
	ids interface{ RequestID() string }

	// exitStatus, when set by a header filter, replaces the upstream
	// response's status and empties its body.
	exitStatus int

	// resolved are the instances Access selected, in priority order, with
	// each one's per-request state; current indexes the one running.
	resolved    []resolved
	resolvedBuf [8]resolved
	current     int

	// respFields are the response fields the view's header filters set
	// (SetResponseField), in respBuf up to its size.
	respFields []Field
	respBuf    [8]Field
	// upFields are the upstream response's fields the view's header
	// filters read (SetUpstreamFields), nil until set.
	upFields UpstreamFields
}

type resolved struct {
	handler Handler
	state   any
}

// NewContext returns the context for one request.
func NewContext(route *model.Route, service *model.Service, captures map[string]string, clientIP string) *Context {
	pc := new(Context)
	pc.Reset(route, service, captures, clientIP)
	return pc
}

// Reset makes pc, a context whose request is over, the context of a new
// request, as NewContext makes one: a caller that knows nothing holds pc
// past its request (the proxy's native path, whose plugins have no
// loggers) keeps it in its own per-request state instead of allocating
// one. The states the plugins kept that are Releasers are released.
func (pc *Context) Reset(route *model.Route, service *model.Service, captures map[string]string, clientIP string) {
	pc.Release()
	*pc = Context{Route: route, Service: service, Captures: captures, ClientIP: clientIP, Start: time.Now()}
	pc.resolved = pc.resolvedBuf[:0]
}

// Releaser is per-request state a plugin kept with SetState that goes
// back to the plugin's own pool when the request is over: Release is
// called once, by Context.Release, and the state is not read again.
type Releaser interface {
	Release()
}

// Release ends pc's request for the plugins' states: each one that is a
// Releaser is released and dropped. A context never released leaves its
// states to the garbage collector.
func (pc *Context) Release() {
	for i := range pc.resolved {
		if r, ok := pc.resolved[i].state.(Releaser); ok {
			pc.resolved[i].state = nil
			r.Release()
		}
	}
}

// Values plugins hand to the loggers, which add them to Kong's log record
// (kong.log.set_serialize_value).
const (
	// VarCorrelationID is the correlation-id plugin's id (a string).
	VarCorrelationID = "correlation_id"
	// VarTraceID is the trace id in each format a tracing plugin
	// propagated (a map[string]string, format → id).
	VarTraceID = "trace_id"
)

// SetVar records a value for other plugins under key.
func (pc *Context) SetVar(key string, v any) {
	if pc.Vars == nil {
		pc.Vars = map[string]any{}
	}
	pc.Vars[key] = v
}

// Var returns the value recorded under key, nil if none.
func (pc *Context) Var(key string) any { return pc.Vars[key] }

// SetState keeps per-request state for the plugin whose phase is running,
// for its later phases (what its access phase decided, for its header
// filter). Storing a pointer does not allocate.
func (pc *Context) SetState(v any) {
	if pc.current >= 0 && pc.current < len(pc.resolved) {
		pc.resolved[pc.current].state = v
	}
}

// State returns what the running plugin kept with SetState, nil if none.
func (pc *Context) State() any {
	if pc.current >= 0 && pc.current < len(pc.resolved) {
		return pc.resolved[pc.current].state
	}
	return nil
}

// SetRequestIDSource makes src answer RequestID (the proxy's exchange,
// which makes the id when first asked).
func (pc *Context) SetRequestIDSource(src interface{ RequestID() string }) { pc.ids = src }

// RequestID returns the request's id (X-Kong-Request-Id), "" when the
// server does not give one.
func (pc *Context) RequestID() string {
	if pc.ids == nil {
		return ""
	}
	return pc.ids.RequestID()
}

// ExitInHeader is kong.response.exit(status) called from a header filter
// on an upstream response: the client gets status, the headers as the
// filters leave them, and no body (Content-Length 0).
func (pc *Context) ExitInHeader(status int) { pc.exitStatus = status }

// HeaderExit returns the status a header filter set with ExitInHeader, 0
// when none did.
func (pc *Context) HeaderExit() int { return pc.exitStatus }

// Handler is a plugin instance built for one snapshot. It implements one or
// more of Accessor, HeaderFilter, BodyFilter and Logger.
type Handler interface {
	// Name is the plugin's name ("key-auth").
	Name() string
}

// Accessor runs before proxying. It may change r (headers, query, body) and
// pc; it answers the request itself by returning a non-nil Response.
type Accessor interface {
	Access(pc *Context, r *http.Request) *Response
}

// HeaderFilter runs on the response status and headers before they are
// sent, whether they came from the upstream or from a plugin's Response.
type HeaderFilter interface {
	Header(pc *Context, status int, h http.Header)
}

// BodyFilter transforms a whole (buffered) response body. NeedsBody says,
// per request, whether buffering is needed at all.
type BodyFilter interface {
	NeedsBody(pc *Context, status int, h http.Header) bool
	Body(pc *Context, h http.Header, body []byte) []byte
}

// BodyLimiter is a BodyFilter that wants a body only up to MaxBody
// bytes (proxy-cache, which stores bounded entries): when the body is
// longer, BodyTooLarge is called instead of Body and the body streams to
// the client untouched, never buffered whole.
type BodyLimiter interface {
	MaxBody() int64
	BodyTooLarge(pc *Context)
}

// Logger runs after the response was sent.
type Logger interface {
	Log(pc *Context, e *LogEntry)
}

// LogEntry describes a finished request for loggers.
type LogEntry struct {
	Request *http.Request
	Status  int
	// Bytes is the response body size sent to the client.
	Bytes int64
	// Upstream is the time spent waiting for the upstream; Proxy the time
	// spent in the data plane itself; Total both.
	Upstream, Proxy, Total time.Duration

	// What Kong's log serializer reports besides (kong.log.serialize).

	// RequestID is the request's id (X-Kong-Request-Id).
	RequestID string
	// Scheme, Host and Port are the client's: the request's URL is
	// Scheme://Host:Port followed by the request URI.
	Scheme, Host, Port string
	// UpstreamURI is the path and query sent to the upstream; empty when
	// the request was not proxied.
	UpstreamURI string
	// UpstreamStatus is the upstream's status code; 0 when none answered.
	UpstreamStatus int
	// ResponseHeader holds the headers sent to the client.
	ResponseHeader http.Header
	// RequestSize and ResponseHeaderSize are, on the view (no Request, no
	// ResponseHeader), the sizes logrecord.RequestSize and the header part
	// of logrecord.ResponseSize make of the adapted request and of
	// ResponseHeader: the request line, the Host and the other fields,
	// the declared body length; each response field's "Name: value\r\n".
	RequestSize, ResponseHeaderSize int64
	// View is, on the view (no Request), the request's view as the
	// plugins left it; ResponseFields the response's fields when they
	// were written from the view rather than from a map (no
	// ResponseHeader). Neither is kept past the log phase.
	View           exchange.Request
	ResponseFields exchange.Header
	// Tries are the upstream connection attempts, first to last.
	Tries []Try
	// Receive is the time spent relaying the response body.
	Receive time.Duration
	// Proxied is true when the upstream answered the response sent
	// (Kong's source "upstream"; "kong" otherwise).
	Proxied bool
}

// Try is one upstream attempt (Kong's balancer_data.tries entry).
type Try struct {
	// IP and Port are the address tried.
	IP   string
	Port int
	// Start is when the target was picked; Latency how long picking took.
	Start   time.Time
	Latency time.Duration
	// Failed is set on an attempt that failed and was retried, with the
	// status Kong records for it (502 on a connection error, 504 on a
	// timeout).
	Failed bool
	Code   int
}

// Env is what a factory may read to build a handler: the whole snapshot
// (for credentials and consumers) and the plugin entity being built.
type Env struct {
	Config *model.Config
	Plugin *model.Plugin
}

// Factory builds a handler from a plugin's validated configuration (its
// defaults already filled in by the shared schema).
type Factory func(env Env) (Handler, error)

// Reuser is a handler built from entities besides its plugin (the
// credentials and consumers it indexes) that can tell whether a later
// configuration left them as they were; Rebuild then keeps it instead of
// building it again. A handler that holds resources (io.Closer) is never
// kept: the set it came from closes it.
type Reuser interface {
	Handler
	// Reusable reports whether the handler serves env as it is; env's
	// plugin is the entity the handler was built for.
	Reusable(env Env) bool
}

// Unchanged reports whether a and b are one list: a configuration a delta
// produced shares the lists of the kinds it left alone with the one
// before (delta.ApplyDigest), so a handler built from a list can tell in
// constant time that it still holds.
func Unchanged[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
