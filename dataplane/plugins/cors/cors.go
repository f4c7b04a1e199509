// Package cors is Kong's cors plugin: it answers CORS preflight requests
// and adds the Access-Control-* headers to proxied responses.
package cors

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/corsorigin"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// Name is the plugin's name.
const Name = "cors"

// Config is cors's configuration.
type Config struct {
	// Origins allowed: exact origins or regular expressions; none or "*"
	// alone allows every origin (internal/corsorigin reads them).
	Origins []string `json:"origins"`
	// Headers for Access-Control-Allow-Headers; empty echoes the
	// preflight's Access-Control-Request-Headers.
	Headers []string `json:"headers"`
	// ExposedHeaders for Access-Control-Expose-Headers.
	ExposedHeaders []string `json:"exposed_headers"`
	// Methods for Access-Control-Allow-Methods.
	Methods []string `json:"methods"`
	// MaxAge for Access-Control-Max-Age, in seconds.
	MaxAge *float64 `json:"max_age"`
	// Credentials sends Access-Control-Allow-Credentials: true.
	Credentials bool `json:"credentials"`
	// PrivateNetwork answers Access-Control-Request-Private-Network.
	PrivateNetwork bool `json:"private_network"`
	// PreflightContinue proxies preflight requests instead of answering.
	PreflightContinue bool `json:"preflight_continue"`
}

// CORS is the handler built for one plugin instance of one snapshot.
type CORS struct {
	conf    Config
	origins *corsorigin.List
	methods string
	headers string
	exposed string
	maxAge  string
}

var (
	_ plugin.Handler      = (*CORS)(nil)
	_ plugin.Accessor     = (*CORS)(nil)
	_ plugin.ViewAccessor = (*CORS)(nil)
	_ plugin.HeaderFilter = (*CORS)(nil)

	_ plugin.ViewHeaderFilter = (*CORS)(nil)
)

// New builds the handler: origins compiled once, by the compiler the
// Admin API validates them with.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building cors: %w", err)
	}
	origins, err := corsorigin.Compile(c.Origins)
	if err != nil {
		return nil, fmt.Errorf("building cors: %w", err)
	}
	h := &CORS{conf: c, origins: origins, methods: strings.Join(c.Methods, ","),
		headers: strings.Join(c.Headers, ","), exposed: strings.Join(c.ExposedHeaders, ",")}
	if c.Methods == nil {
		h.methods = strings.Join(pluginschema.CORSMethods, ",")
	}
	if c.MaxAge != nil {
		// Lua's tostring of a number.
		h.maxAge = strconv.FormatFloat(*c.MaxAge, 'g', 14, 64)
	}
	return h, nil
}

// Name implements plugin.Handler.
func (h *CORS) Name() string { return Name }

// skip is the state Access leaves when it saw a preflight: the header
// filter then adds nothing (Kong's skip_response_headers).
type skip struct{}

// Access implements plugin.Accessor, as kong/plugins/cors/handler.lua: a
// preflight (OPTIONS with Origin and Access-Control-Request-Method) is
// answered 200 with no body, unless preflight_continue sends it upstream.
func (h *CORS) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	return access(h, pc, r.Method, plugin.HeaderFields(r.Header))
}

// OnView implements plugin.ViewAccessor: cors reads fields only, and its
// header filter reads the request's through Context.RequestHeader.
func (h *CORS) OnView() bool { return true }

// AccessView implements plugin.ViewAccessor: a preflight is answered on
// the view.
func (h *CORS) AccessView(pc *plugin.Context, r exchange.Request) *plugin.Response {
	return access(h, pc, string(r.Method()), plugin.ViewFields{H: r.Header()})
}

// access is both access phases, on the request of method and fields req.
func access[F plugin.Fields](h *CORS, pc *plugin.Context, method string, req F) *plugin.Response {
	if method != http.MethodOptions || !req.Has("Origin") || !req.Has("Access-Control-Request-Method") {
		return nil
	}
	pc.SetState(skip{})
	if h.conf.PreflightContinue {
		return nil
	}
	resp := plugin.Empty(http.StatusOK)
	out := resp.Header
	origin, hasOrigin := req.Get("Origin"), true
	allowAll := setOrigin(h, out, origin, hasOrigin, false)
	setCredentials(h, out, origin, hasOrigin, allowAll, false)
	if h.headers != "" {
		out.Set("Access-Control-Allow-Headers", h.headers)
	} else if req.Has("Access-Control-Request-Headers") {
		out.Set("Access-Control-Allow-Headers", req.Get("Access-Control-Request-Headers"))
	}
	out.Set("Access-Control-Allow-Methods", h.methods)
	if h.maxAge != "" {
		out.Set("Access-Control-Max-Age", h.maxAge)
	}
	if h.conf.PrivateNetwork && req.Get("Access-Control-Request-Private-Network") == "true" {
		out.Set("Access-Control-Allow-Private-Network", "true")
	}
	return resp
}

// Header implements plugin.HeaderFilter: the CORS headers on any other
// response, the upstream's or one the data plane gave.
func (h *CORS) Header(pc *plugin.Context, _ int, out http.Header) { header(h, pc, out) }

// HeaderView implements plugin.ViewHeaderFilter: Header's changes,
// made without the map.
func (h *CORS) HeaderView(pc *plugin.Context, _ int) { header(h, pc, viewFields{pc}) }

// header is both header filters, on the response's fields out.
func header[F fields](h *CORS, pc *plugin.Context, out F) {
	if _, ok := pc.State().(skip); ok {
		return
	}
	origin, hasOrigin := pc.RequestHeader("Origin")
	allowAll := setOrigin(h, out, origin, hasOrigin, true)
	setCredentials(h, out, origin, hasOrigin, allowAll, true)
	if h.exposed != "" {
		out.Set("Access-Control-Expose-Headers", h.exposed)
	}
}

// fields is what the header filters change: the response's map
// (http.Header) or, on the view, the changes recorded on the context
// (viewFields).
type fields interface {
	Set(name, value string)
	Add(name, value string)
	Del(name string)
}

// viewFields records the changes with the context's response fields.
type viewFields struct{ pc *plugin.Context }

func (v viewFields) Set(name, value string) { v.pc.SetResponseField(name, value) }
func (v viewFields) Add(name, value string) { v.pc.AddResponseField(name, value) }
func (v viewFields) Del(name string)        { v.pc.DelResponseField(name) }

// setOrigin is Kong's configure_origin: it sets (or removes, the
// upstream's included) Access-Control-Allow-Origin and reports whether
// every origin is allowed, for a request whose Origin is origin (when
// hasOrigin). Vary is added on a response's own header filter, set on a
// preflight.
func setOrigin[F fields](h *CORS, out F, origin string, hasOrigin, filter bool) bool {
	if h.origins.AllowAll {
		out.Set("Access-Control-Allow-Origin", "*")
		return true
	}
	vary(out, filter)
	if h.origins.Single != "" {
		out.Set("Access-Control-Allow-Origin", h.origins.Single)
		return false
	}
	if hasOrigin {
		if h.origins.Wildcard {
			out.Set("Access-Control-Allow-Origin", "*")
			return true
		}
		if allowed, ok := h.origins.Match(origin); ok {
			out.Set("Access-Control-Allow-Origin", allowed)
			return false
		}
	}
	out.Del("Access-Control-Allow-Origin")
	return false
}

// setCredentials is Kong's configure_credentials: with credentials on,
// Access-Control-Allow-Credentials is sent whenever the origin is not "*";
// with "*", the request's own Origin replaces it (when there is one).
func setCredentials[F fields](h *CORS, out F, origin string, hasOrigin, allowAll, filter bool) {
	if !h.conf.Credentials {
		return
	}
	if !allowAll {
		out.Set("Access-Control-Allow-Credentials", "true")
		return
	}
	if hasOrigin {
		vary(out, filter)
		out.Set("Access-Control-Allow-Origin", origin)
		out.Set("Access-Control-Allow-Credentials", "true")
	}
}

func vary[F fields](out F, filter bool) {
	if filter {
		out.Add("Vary", "Origin")
		return
	}
	out.Set("Vary", "Origin")
}
