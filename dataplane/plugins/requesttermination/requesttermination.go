// Package requesttermination is Kong's request-termination plugin: it
// answers every request itself with a configured status and body, or
// echoes the request back.
package requesttermination

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/uriargs"
)

// Name is the plugin's name.
const Name = "request-termination"

// Config is request-termination's configuration.
type Config struct {
	// StatusCode is the answer's status; default 503.
	StatusCode int `json:"status_code"`
	// Message is sent as {"message": …}; Body and ContentType instead send
	// a raw body.
	Message     *string `json:"message"`
	ContentType *string `json:"content_type"`
	Body        *string `json:"body"`
	// Echo answers with a JSON description of the request.
	Echo bool `json:"echo"`
	// Trigger, when set, terminates only requests carrying this header or
	// query parameter.
	Trigger *string `json:"trigger"`
}

// Terminator is the handler built for one plugin instance of one snapshot.
type Terminator struct {
	conf Config
}

var (
	_ plugin.Handler  = (*Terminator)(nil)
	_ plugin.Accessor = (*Terminator)(nil)
)

// New builds the handler.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building request-termination: %w", err)
	}
	if c.StatusCode == 0 {
		c.StatusCode = http.StatusServiceUnavailable
	}
	return &Terminator{conf: c}, nil
}

// Name implements plugin.Handler.
func (t *Terminator) Name() string { return Name }

// Access implements plugin.Accessor, as kong/plugins/request-termination/handler.lua.
func (t *Terminator) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	if tr := t.conf.Trigger; tr != nil && *tr != "" && !triggered(r, *tr) {
		return nil
	}
	if t.conf.Echo {
		return t.echo(pc, r)
	}
	if t.conf.Body != nil {
		h := http.Header{}
		// Without content_type Kong sends none (and nothing guesses one).
		h["Content-Type"] = nil
		if t.conf.ContentType != nil {
			h["Content-Type"] = []string{*t.conf.ContentType}
		}
		return &plugin.Response{Status: t.conf.StatusCode, Header: h, Body: []byte(*t.conf.Body)}
	}
	msg, ok := defaultMessages[t.conf.StatusCode]
	if t.conf.Message != nil {
		msg, ok = *t.conf.Message, true
	}
	if !ok {
		// kong.response.exit(status, nil): no body at all.
		return plugin.Empty(t.conf.StatusCode)
	}
	return plugin.JSONMessage(t.conf.StatusCode, msg)
}

// triggered reports whether r carries the trigger as a header (a name
// with underscores also matching dashes, as Kong reads nginx's headers)
// or as a query parameter, whatever their value.
func triggered(r *http.Request, trigger string) bool {
	if _, ok := r.Header[http.CanonicalHeaderKey(trigger)]; ok {
		return true
	}
	if strings.Contains(trigger, "_") {
		if _, ok := r.Header[http.CanonicalHeaderKey(strings.ReplaceAll(trigger, "_", "-"))]; ok {
			return true
		}
	}
	return uriargs.Parse(r.URL.RawQuery).Has(trigger)
}

// defaultMessages are Kong's messages for a status without one configured
// (DEFAULT_RESPONSE); other statuses have none.
var defaultMessages = map[int]string{
	http.StatusUnauthorized:        "Unauthorized",
	http.StatusNotFound:            "Not found",
	http.StatusMethodNotAllowed:    "Method not allowed",
	http.StatusInternalServerError: "An unexpected error occurred",
	http.StatusBadGateway:          "Bad Gateway",
	http.StatusServiceUnavailable:  "Service unavailable",
}
