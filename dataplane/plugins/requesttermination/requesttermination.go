// Package requesttermination is Kong's request-termination plugin: it
// answers every request itself with a configured status and body, or
// echoes the request back.
package requesttermination

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
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

// Access implements plugin.Accessor.
func (t *Terminator) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	if tr := t.conf.Trigger; tr != nil && *tr != "" {
		if r.Header.Get(*tr) == "" && !r.URL.Query().Has(*tr) {
			return nil
		}
	}
	if t.conf.Echo {
		return t.echo(pc, r)
	}
	if t.conf.Body != nil {
		h := http.Header{}
		ct := "application/json; charset=utf-8"
		if t.conf.ContentType != nil {
			ct = *t.conf.ContentType
		}
		h.Set("Content-Type", ct)
		return &plugin.Response{Status: t.conf.StatusCode, Header: h, Body: []byte(*t.conf.Body)}
	}
	msg, ok := defaultMessages[t.conf.StatusCode]
	if !ok {
		msg = http.StatusText(t.conf.StatusCode)
	}
	if t.conf.Message != nil {
		msg = *t.conf.Message
	}
	return plugin.JSONMessage(t.conf.StatusCode, msg)
}

// defaultMessages are Kong's messages for a status without one configured.
var defaultMessages = map[int]string{
	http.StatusUnauthorized:        "Unauthorized",
	http.StatusForbidden:           "Forbidden",
	http.StatusNotFound:            "Not found",
	http.StatusMethodNotAllowed:    "Method not allowed",
	http.StatusInternalServerError: "An unexpected error occurred",
	http.StatusBadGateway:          "Bad Gateway",
	http.StatusServiceUnavailable:  "Service unavailable",
}

// echo describes the request back to the caller, as Kong's echo does.
func (t *Terminator) echo(pc *plugin.Context, r *http.Request) *plugin.Response {
	headers := map[string]string{}
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	query := map[string]any{}
	for k, vs := range r.URL.Query() {
		query[k] = vs[0]
	}
	doc := map[string]any{
		"message": t.conf.Message,
		"request": map[string]any{
			"scheme": scheme, "host": r.Host, "method": r.Method, "path": r.URL.Path,
			"query": query, "headers": headers, "uri_captures": pc.Captures,
			"raw_query": r.URL.RawQuery,
		},
		"matched_route":   pc.Route,
		"matched_service": pc.Service,
	}
	if pc.Consumer != nil {
		doc["consumer"] = pc.Consumer
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return plugin.JSONMessage(http.StatusInternalServerError, "An unexpected error occurred")
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	return &plugin.Response{Status: t.conf.StatusCode, Header: h, Body: b}
}
