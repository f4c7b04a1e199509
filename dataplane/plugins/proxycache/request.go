package proxycache

import (
	"net/http"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// request is what the access phase reads of the request, as the access
// phases before it left it: the adapted request or the view.
type request interface {
	method() string
	// line is nginx's $request ("GET /a?b HTTP/1.1") up to its first
	// "?", the client's target as sent.
	line() string
	// query is the raw query, without "?".
	query() string
	// values are the values of the fields named name (any case), in
	// order; has reports whether there is one.
	values(name string) []string
	has(name string) bool
}

// httpRequest is the adapted request.
type httpRequest struct{ r *http.Request }

func (h httpRequest) method() string { return h.r.Method }

func (h httpRequest) line() string {
	l := h.r.Method + " " + h.r.RequestURI + " " + h.r.Proto
	if i := strings.IndexByte(l, '?'); i >= 0 {
		l = l[:i]
	}
	return l
}

func (h httpRequest) query() string { return h.r.URL.RawQuery }

func (h httpRequest) values(name string) []string { return h.r.Header.Values(name) }

func (h httpRequest) has(name string) bool {
	_, ok := h.r.Header[http.CanonicalHeaderKey(name)]
	return ok
}

// viewRequest is the view: the target is the client's (the native path
// takes origin-form targets only, whose RequestURI they are), the query
// the one the plugins before left (Context.ViewQuery), and Host, which
// the view holds among the fields, is not one, as on the adapted request.
type viewRequest struct {
	r  exchange.Request
	pc *plugin.Context
}

func (v viewRequest) method() string { return string(v.r.Method()) }

func (v viewRequest) line() string {
	l := string(v.r.Method()) + " " + string(v.r.Path())
	if v.r.Query() != nil {
		return l
	}
	return l + " " + v.r.Proto()
}

func (v viewRequest) query() string { return v.pc.ViewQuery(v.r) }

func (v viewRequest) values(name string) []string {
	if strings.EqualFold(name, "Host") {
		return nil
	}
	var out []string
	v.r.Header().Values(name, func(b []byte) bool {
		out = append(out, string(b))
		return true
	})
	return out
}

func (v viewRequest) has(name string) bool {
	if strings.EqualFold(name, "Host") {
		return false
	}
	found := false
	v.r.Header().Values(name, func([]byte) bool {
		found = true
		return false
	})
	return found
}
