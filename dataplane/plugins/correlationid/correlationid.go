// Package correlationid is Kong's correlation-id plugin: every request
// carries a unique id in a header, sent upstream and optionally echoed
// back to the client.
package correlationid

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// Name is the plugin's name.
const Name = "correlation-id"

// Config is correlation-id's configuration.
type Config struct {
	// HeaderName carries the id; default Kong-Request-ID.
	HeaderName string `json:"header_name"`
	// Generator is uuid, uuid#counter (default) or tracker.
	Generator string `json:"generator"`
	// EchoDownstream adds the id to the response.
	EchoDownstream bool `json:"echo_downstream"`
}

// CorrelationID is the handler built for one plugin instance of one
// snapshot.
type CorrelationID struct {
	conf   Config
	header string
	// unsafe says header is not written, in either direction
	// (Unwritable).
	unsafe  bool
	prefix  string
	counter atomic.Uint64
}

var (
	_ plugin.Handler          = (*CorrelationID)(nil)
	_ plugin.Accessor         = (*CorrelationID)(nil)
	_ plugin.ViewAccessor     = (*CorrelationID)(nil)
	_ plugin.HeaderFilter     = (*CorrelationID)(nil)
	_ plugin.ViewHeaderFilter = (*CorrelationID)(nil)
)

// New builds the handler; uuid#counter ids share one uuid per handler,
// as Kong's share one per worker.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building correlation-id: %w", err)
	}
	if c.HeaderName == "" {
		c.HeaderName = "Kong-Request-ID"
	}
	header := http.CanonicalHeaderKey(c.HeaderName)
	return &CorrelationID{conf: c, header: header, unsafe: Unwritable(header), prefix: uuid.NewString()}, nil
}

// Unwritable reports whether the field name (canonical) is one the
// plugin never writes into a request or a response: one that frames
// the message or the connection (Content-Length, Transfer-Encoding,
// Connection and the other hop-by-hop fields), Host, or not a field
// name at all. Kong's schema takes any string as header_name
// (kong/plugins/correlation-id/schema.lua: type "string", not
// typedefs.header_name), so such a configuration is accepted; written,
// the id would cut the response short or corrupt the exchange, so the
// id is only made (and an id the client sent in that field kept) for
// the loggers.
func Unwritable(name string) bool {
	switch name {
	case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Proxy-Connection",
		"Te", "Trailer", "Upgrade", "Host":
		return true
	}
	if name == "" {
		return true
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 0x80 || !token[c] {
			return true
		}
	}
	return false
}

// token marks the bytes of an HTTP token (RFC 9110, tchar).
var token = func() (t [128]bool) {
	for c := 0; c < 128; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// Name implements plugin.Handler.
func (h *CorrelationID) Name() string { return Name }

// Access implements plugin.Accessor: an id the client sent is kept.
func (h *CorrelationID) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	return access(h, pc, r, plugin.HeaderFields(r.Header))
}

// OnView implements plugin.ViewAccessor: the tracker generator reads the
// local address from the adapted request's context.
func (h *CorrelationID) OnView() bool { return h.conf.Generator != "tracker" }

// AccessView implements plugin.ViewAccessor.
func (h *CorrelationID) AccessView(pc *plugin.Context, r exchange.Request) *plugin.Response {
	return access(h, pc, nil, plugin.ViewFields{H: r.Header()})
}

// access is both access phases, on the fields f of the request (r, the
// adapted request, for the tracker generator; nil on the view).
func access[F plugin.Fields](h *CorrelationID, pc *plugin.Context, r *http.Request, f F) *plugin.Response {
	id := f.Get(h.header)
	if id == "" {
		id = h.generate(pc, r)
		if !h.unsafe {
			f.Set(h.header, id)
		}
	}
	pc.SetVar(plugin.VarCorrelationID, id)
	if h.conf.EchoDownstream && !h.unsafe {
		pc.SetState(id)
	}
	return nil
}

// Header implements plugin.HeaderFilter: with echo_downstream, the id goes
// back to the client; when the access phase did not run (a response
// given before it), the request's id or a new one, as Kong's
// header_filter does.
func (h *CorrelationID) Header(pc *plugin.Context, _ int, out http.Header) {
	if h.conf.EchoDownstream && !h.unsafe {
		out.Set(h.header, h.echoed(pc))
	}
}

// HeaderView implements plugin.ViewHeaderFilter: Header's field, set
// without the map.
func (h *CorrelationID) HeaderView(pc *plugin.Context, _ int) {
	if h.conf.EchoDownstream && !h.unsafe {
		pc.SetResponseField(h.header, h.echoed(pc))
	}
}

// echoed is the id echo_downstream sends back.
func (h *CorrelationID) echoed(pc *plugin.Context) string {
	id, _ := pc.State().(string)
	if id == "" {
		id, _ = pc.RequestHeader(h.header)
	}
	if id == "" {
		id = h.generate(pc, pc.Request)
	}
	return id
}

func (h *CorrelationID) generate(pc *plugin.Context, r *http.Request) string {
	switch h.conf.Generator {
	case "uuid":
		return uuid.NewString()
	case "tracker":
		return tracker(pc, r, time.Now())
	}
	// One allocation: the id built in place, then made a string.
	var b [64]byte
	id := append(append(b[:0], h.prefix...), '#')
	return string(strconv.AppendUint(id, h.counter.Add(1), 10))
}

// tracker is Kong's tracker id (kong/plugins/correlation-id/handler.lua):
// the address and port the request came to, the process id, the
// connection's serial number, the requests made on it so far, and the
// time in seconds with milliseconds —
// "127.0.0.1-8000-4242-7-1-1700000000.123".
func tracker(pc *plugin.Context, r *http.Request, now time.Time) string {
	addr, port := "0.0.0.0", "0"
	if r != nil {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			if h, p, err := net.SplitHostPort(a.String()); err == nil {
				addr, port = h, p
			}
		}
	}
	msec := now.UnixMilli()
	b := make([]byte, 0, 64)
	b = append(b, addr...)
	b = append(b, '-')
	b = append(b, port...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(os.Getpid()), 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, pc.Connection, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, pc.ConnectionRequests, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, msec/1000, 10)
	b = append(b, '.')
	ms := msec % 1000
	b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return string(b)
}
