package plugin

import (
	"net/textproto"
	"strconv"

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
// (HeaderFilter, BodyFilter) read the request only through
// Context.RequestHeader: Context.Request is nil on the view. A Logger is
// taken onto the view only as a ViewLogger.
type ViewAccessor interface {
	Accessor
	Viewer
	// AccessView is Access on the view r: fields are changed through
	// r.Header(), the query the upstream gets through
	// Context.SetUpstreamQuery.
	AccessView(pc *Context, r exchange.Request) *Response
}

// Viewer is a handler whose phases may run on the view. One without an
// access phase (response-transformer: header and body filters only) is
// taken onto the view by implementing Viewer alone, with the same promise
// as a ViewAccessor's: its phases read the request only through
// Context.RequestHeader.
type Viewer interface {
	// OnView reports whether this instance's phases can run on the view:
	// its configuration needs nothing the view lacks (the body, the
	// request's context for a shared store).
	OnView() bool
}

// ViewLogger is a Logger whose log phase also runs on the view: LogView
// reads of its entry only Status, Bytes, the latencies (Upstream, Proxy,
// Total), Proxied and the sizes (RequestSize, ResponseHeaderSize: read
// through logrecord's EntryRequestSize and ResponseSize), all the view's
// entry has (no Request, no ResponseHeader), and of the context what the
// other phases left (Route, Service, Consumer, HeaderExit); it keeps
// neither past the call, as the proxy's native path reuses both
// (prometheus, statsd, datadog, response-ratelimiting's local policy).
type ViewLogger interface {
	Logger
	Viewer
	LogView(pc *Context, e *LogEntry)
}

// Recorder is a ViewLogger that writes Kong's log record of its entry
// (logrecord.Encoder: http-log, file-log, udp-log, and tcp-log and
// syslog through logrecord.Sink): on the view its
// entry also has View, ResponseHeader (when the response went out
// through a map) or ResponseFields (the fields written without one: the
// upstream's head relayed as a view, the proxy's and the plugins'
// fields, copied for the entry), RequestID, Scheme, Host, Port, UpstreamURI,
// UpstreamStatus, Tries and Receive, which the proxy makes only for a
// request with a Recorder (Set.Records). Neither the entry nor what it
// points to is kept past the call.
type Recorder interface {
	ViewLogger
	Records()
}

// onView reports whether h's phases run on the view: it is a Viewer that
// says so, a ViewAccessor when it has an access phase, and a ViewLogger
// when it has a log phase.
func onView(h Handler) bool {
	v, ok := h.(Viewer)
	if !ok || !v.OnView() {
		return false
	}
	if _, logs := h.(Logger); logs {
		if _, ok := h.(ViewLogger); !ok {
			return false
		}
	}
	if _, access := h.(Accessor); access {
		_, ok = h.(ViewAccessor)
	}
	return ok
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
	pc.Request, pc.view = nil, r
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

// ViewQuery is the query of r as the access phases before left it: the
// one set with SetUpstreamQuery, else the client's.
func (pc *Context) ViewQuery(r exchange.Request) string {
	if pc.queryChanged {
		return pc.upstreamQuery
	}
	return string(r.Query())
}

// RequestHeader is the first value of the client request's field name
// (any case) as the access phases left it, and whether there is one, on
// either path: the adapted request's, or the view's that AccessView ran
// on. Header filters read the request through it.
func (pc *Context) RequestHeader(name string) (string, bool) {
	if pc.Request != nil {
		vs := pc.Request.Header[textproto.CanonicalMIMEHeaderKey(name)]
		if len(vs) == 0 {
			return "", false
		}
		return vs[0], true
	}
	if pc.view != nil {
		return ViewFields{pc.view.Header()}.get(name)
	}
	return "", false
}

// ViewHeaderFilter is a HeaderFilter whose response phase only sets,
// adds and deletes response fields, as http.Header's Set, Add and Del
// do, without reading the response's (a ResponseViewer reads them
// through Context.ResponseView). The proxy's native path then
// relays the upstream's response as a view, with no header map, and
// writes the fields set and added into the head it writes, less those
// deleted (rate-limiting's RateLimit-* fields, cors's). The
// fields are the plugin's own: none that frames the body or the
// connection (Content-Length, Transfer-Encoding, Trailer, Connection and
// the other hop-by-hop fields), and it never calls ExitInHeader in
// HeaderView. A Content-Type set is the one the body is flushed by (an
// event stream as it comes), as on the map.
type ViewHeaderFilter interface {
	HeaderFilter
	// HeaderView is Header without the map: each change goes through
	// pc.SetResponseField, AddResponseField or DelResponseField.
	HeaderView(pc *Context, status int)
}

// Field is a change a ViewHeaderFilter made to the response's fields:
// Name in net/http's canonical form; the value Value or, set with
// SetResponseFieldInt, a number formatted when written (AppendValue).
// A field set (SetResponseField) or deleted (DelResponseField, Deleted)
// replaces the upstream's of its name; one added (AddResponseField,
// Added) comes after them.
type Field struct {
	Name, Value string
	num         int64
	isNum       bool
	op          fieldOp
}

type fieldOp uint8

const (
	opSet fieldOp = iota
	opAdd
	opDel
)

// Added reports whether the field was added (http.Header.Add): the
// upstream's fields of its name stay, unless a Deleted or set field of
// the name comes first in ResponseFields.
func (f Field) Added() bool { return f.op == opAdd }

// Deleted reports whether the field stands for the deletion of the
// name's fields (http.Header.Del): nothing of it is written.
func (f Field) Deleted() bool { return f.op == opDel }

// AppendValue appends the field's value to b.
func (f Field) AppendValue(b []byte) []byte {
	if f.isNum {
		return strconv.AppendInt(b, f.num, 10)
	}
	return append(b, f.Value...)
}

// String is the field's value.
func (f Field) String() string {
	if f.isNum {
		return strconv.FormatInt(f.num, 10)
	}
	return f.Value
}

// SetResponseField sets the response field name to value, as
// http.Header.Set sets it on the response's map: it replaces the
// upstream's fields of that name and what was set, added or deleted of
// it before.
func (pc *Context) SetResponseField(name, value string) {
	pc.replaceField(Field{Name: textproto.CanonicalMIMEHeaderKey(name), Value: value})
}

// SetResponseFieldInt is SetResponseField with the decimal value v,
// formatted only when the field is written (no string per request).
func (pc *Context) SetResponseFieldInt(name string, v int64) {
	pc.replaceField(Field{Name: textproto.CanonicalMIMEHeaderKey(name), num: v, isNum: true})
}

// AddResponseField adds a response field name of value, as
// http.Header.Add adds one: after the fields of that name the response
// has so far.
func (pc *Context) AddResponseField(name, value string) {
	if pc.respFields == nil {
		pc.respFields = pc.respBuf[:0]
	}
	pc.respFields = append(pc.respFields, Field{Name: textproto.CanonicalMIMEHeaderKey(name), Value: value, op: opAdd})
}

// DelResponseField deletes the response fields name, as http.Header.Del
// does: the upstream's and what was set or added before.
func (pc *Context) DelResponseField(name string) {
	pc.replaceField(Field{Name: textproto.CanonicalMIMEHeaderKey(name), op: opDel})
}

// replaceField puts f in place of the changes made to its name before
// (in the first one's place), or at the end.
func (pc *Context) replaceField(f Field) {
	if pc.respFields == nil {
		pc.respFields = pc.respBuf[:0]
	}
	at, n := -1, len(pc.respFields)
	out := pc.respFields[:0]
	for _, g := range pc.respFields {
		if g.Name != f.Name {
			out = append(out, g)
			continue
		}
		if at < 0 {
			at = len(out)
			out = append(out, f)
		}
	}
	if at < 0 {
		out = append(out, f)
	}
	if len(out) < n {
		clear(pc.respFields[len(out):n])
	}
	pc.respFields = out
}

// ResponseFields are the changes made with SetResponseField,
// SetResponseFieldInt, AddResponseField and DelResponseField: per name,
// a set or deleted field first, if any, then the added ones in order.
func (pc *Context) ResponseFields() []Field { return pc.respFields }

// HeadersOnView reports whether the response phases of the plugins
// resolved for pc run without a header map: every header filter among
// them is a ViewHeaderFilter and none is a BodyFilter, but a
// ResponseViewer whose ResponseOnView says so.
func (s *Set) HeadersOnView(pc *Context) bool {
	for _, r := range pc.resolved {
		if v, ok := r.handler.(ResponseViewer); ok {
			if !v.ResponseOnView() {
				return false
			}
			continue
		}
		if _, ok := r.handler.(BodyFilter); ok {
			return false
		}
		if _, ok := r.handler.(HeaderFilter); !ok {
			continue
		}
		if _, ok := r.handler.(ViewHeaderFilter); !ok {
			return false
		}
	}
	return true
}

// HeaderView runs the header filters of the plugins resolved for pc, for
// a pc that HeadersOnView accepted: the fields they set are
// pc.ResponseFields.
func (s *Set) HeaderView(pc *Context, status int) {
	for i, r := range pc.resolved {
		if f, ok := r.handler.(ViewHeaderFilter); ok {
			pc.current = i
			f.HeaderView(pc, status)
		}
	}
}

// Logs reports whether a plugin resolved for pc has a log phase.
func (s *Set) Logs(pc *Context) bool {
	for _, r := range pc.resolved {
		if _, ok := r.handler.(Logger); ok {
			return true
		}
	}
	return false
}

// Records reports whether a plugin resolved for pc is a Recorder.
func (s *Set) Records(pc *Context) bool {
	for _, r := range pc.resolved {
		if _, ok := r.handler.(Recorder); ok {
			return true
		}
	}
	return false
}

// LogView runs the log phases of the plugins resolved for pc on the
// view's entry e, for a pc that OnView accepted (its loggers are
// ViewLoggers).
func (s *Set) LogView(pc *Context, e *LogEntry) {
	for i, r := range pc.resolved {
		if f, ok := r.handler.(ViewLogger); ok {
			pc.current = i
			f.LogView(pc, e)
		}
	}
}
