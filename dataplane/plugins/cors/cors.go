// Package cors is Kong's cors plugin: it answers CORS preflight requests
// and adds the Access-Control-* headers to proxied responses.
package cors

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// Name is the plugin's name.
const Name = "cors"

// Config is cors's configuration.
type Config struct {
	// Origins allowed: exact origins or regular expressions; none or "*"
	// allows every origin.
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
	conf     Config
	allowAll bool
	exact    map[string]bool
	patterns []*regexp.Regexp
	methods  string
	headers  string
	exposed  string
	maxAge   string
}

var (
	_ plugin.Handler      = (*CORS)(nil)
	_ plugin.Accessor     = (*CORS)(nil)
	_ plugin.HeaderFilter = (*CORS)(nil)
)

// literal is how Kong tells an exact origin from a regular expression.
var literal = regexp.MustCompile(`^[A-Za-z0-9.:/-]*$`)

// New builds the handler: origin patterns compiled once.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building cors: %w", err)
	}
	h := &CORS{conf: c, exact: map[string]bool{}, methods: strings.Join(c.Methods, ","),
		headers: strings.Join(c.Headers, ","), exposed: strings.Join(c.ExposedHeaders, ",")}
	h.allowAll = len(c.Origins) == 0 || (len(c.Origins) == 1 && c.Origins[0] == "*")
	for _, o := range c.Origins {
		if literal.MatchString(o) {
			h.exact[strings.ToLower(o)] = true
			continue
		}
		re, err := regexp.Compile("^(?:" + o + ")$")
		if err != nil {
			return nil, fmt.Errorf("building cors: compiling origin %q: %w", o, err)
		}
		h.patterns = append(h.patterns, re)
	}
	if c.MaxAge != nil {
		h.maxAge = strconv.FormatInt(int64(*c.MaxAge), 10)
	}
	return h, nil
}

// Name implements plugin.Handler.
func (h *CORS) Name() string { return Name }

// state is what Access leaves for the header filter.
type state struct {
	origin    string
	preflight bool
}

// Access implements plugin.Accessor: a preflight is answered 200 unless
// preflight_continue is set.
func (h *CORS) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	origin := r.Header.Get("Origin")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" && !h.conf.PreflightContinue {
		resp := &plugin.Response{Status: http.StatusOK, Header: http.Header{}}
		out := resp.Header
		h.setOrigin(out, origin)
		if h.headers != "" {
			out.Set("Access-Control-Allow-Headers", h.headers)
		} else if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			out.Set("Access-Control-Allow-Headers", rh)
		}
		out.Set("Access-Control-Allow-Methods", h.methods)
		if h.maxAge != "" {
			out.Set("Access-Control-Max-Age", h.maxAge)
		}
		if h.conf.PrivateNetwork && r.Header.Get("Access-Control-Request-Private-Network") == "true" {
			out.Set("Access-Control-Allow-Private-Network", "true")
		}
		out.Set("Content-Length", "0")
		pc.SetState(state{preflight: true})
		return resp
	}
	if origin != "" {
		pc.SetState(state{origin: origin})
	}
	return nil
}

// Header implements plugin.HeaderFilter: the CORS headers on the proxied
// response.
func (h *CORS) Header(pc *plugin.Context, _ int, out http.Header) {
	st, _ := pc.State().(state)
	if st.preflight {
		return
	}
	h.setOrigin(out, st.origin)
	if h.exposed != "" {
		out.Set("Access-Control-Expose-Headers", h.exposed)
	}
}

// setOrigin sets Access-Control-Allow-Origin (and -Credentials) for
// origin, as Kong's configure_origin and configure_credentials do.
func (h *CORS) setOrigin(out http.Header, origin string) {
	if h.allowAll {
		if h.conf.Credentials && origin != "" {
			out.Set("Access-Control-Allow-Origin", origin)
			out.Add("Vary", "Origin")
		} else {
			out.Set("Access-Control-Allow-Origin", "*")
		}
	} else {
		out.Add("Vary", "Origin")
		if origin == "" || !h.allowed(origin) {
			return
		}
		out.Set("Access-Control-Allow-Origin", origin)
	}
	if h.conf.Credentials {
		out.Set("Access-Control-Allow-Credentials", "true")
	}
}

func (h *CORS) allowed(origin string) bool {
	if h.exact[strings.ToLower(origin)] {
		return true
	}
	for _, re := range h.patterns {
		if re.MatchString(origin) {
			return true
		}
	}
	return false
}
