// Package redirect is Kong's redirect plugin: it answers every request
// with a redirect to a configured location, keeping the request's path
// and query when asked.
package redirect

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// Name is the plugin's name.
const Name = "redirect"

// body is what Kong sends with every redirect.
const body = "redirecting"

// Config is redirect's configuration.
type Config struct {
	// StatusCode is the answer's status (default 301).
	StatusCode int `json:"status_code"`
	// Location is the URL redirected to.
	Location string `json:"location"`
	// KeepIncomingPath replaces Location's path and query with the
	// request's.
	KeepIncomingPath bool `json:"keep_incoming_path"`
}

// Redirect is the handler built for one plugin instance of one snapshot.
type Redirect struct {
	conf     Config
	location *url.URL
}

var (
	_ plugin.Handler  = (*Redirect)(nil)
	_ plugin.Accessor = (*Redirect)(nil)
)

// New builds the handler.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building redirect: %w", err)
	}
	if c.StatusCode == 0 {
		c.StatusCode = http.StatusMovedPermanently
	}
	u, err := url.Parse(c.Location)
	if err != nil {
		return nil, fmt.Errorf("building redirect: parsing location: %w", err)
	}
	return &Redirect{conf: c, location: u}, nil
}

// Name implements plugin.Handler.
func (rd *Redirect) Name() string { return Name }

// Access implements plugin.Accessor, as kong/plugins/redirect/handler.lua.
func (rd *Redirect) Access(_ *plugin.Context, r *http.Request) *plugin.Response {
	loc := rd.conf.Location
	if rd.conf.KeepIncomingPath {
		u := *rd.location
		u.Path, u.RawPath = r.URL.Path, r.URL.EscapedPath()
		u.RawQuery, u.ForceQuery = r.URL.RawQuery, false
		loc = u.String()
	}
	h := http.Header{}
	h["Location"] = []string{loc}
	// A string body: Kong sends it without a Content-Type.
	h["Content-Type"] = nil
	return &plugin.Response{Status: rd.conf.StatusCode, Header: h, Body: []byte(body)}
}
