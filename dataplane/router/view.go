package router

import (
	"net/http"
	"strings"
	"unsafe"

	"github.com/skyport-gw/skyport/dataplane/exchange"
)

// MatchRequest is Match on the protocol-neutral view of a request
// (exchange.Request: h1's request, or net/http's through
// exchange.HTTPRequest); port is the listener's. It compares the view's
// bytes in place: the method, host and path are not copied, and the
// headers are read from the view's fields, not from a map. It writes the
// answer into m and reports whether a route matched. The matched path,
// when normalization left it as it came, is copied into m's own storage
// (a path over 64 bytes is allocated), so that a Match answers one
// request: its strings may change when m is used for another. The only
// other allocation is a regex route's captures.
func (r *Router) MatchRequest(req exchange.Request, port int, m *Match) bool {
	path := req.Path()
	s := search{method: view(req.Method()), header: reqFields{v: req.Header()}}
	s.path = Normalize(view(path))
	// A path normalization left alone is still the request's bytes: the
	// match keeps a copy of it.
	copyPath := len(path) > 0 && len(s.path) > 0 && unsafe.StringData(s.path) == &path[0]
	if st := req.TLS(); st != nil {
		s.tls, s.sni = true, st.ServerName
	}
	host, p, ok := splitHostPort(view(req.Host()))
	s.port = port
	if ok {
		s.port = p
	}
	var buf [256]byte
	r.findHost(&s, lowerInto(buf[:0], host))
	return s.result(m, copyPath)
}

// view is b as a string, without copying: for comparisons and map
// lookups that do not keep it.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// lowerInto lower-cases s (ASCII), into buf when it has upper-case
// letters and fits.
func lowerInto(buf []byte, s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			if len(s) > cap(buf) {
				return strings.ToLower(s)
			}
			buf = buf[:len(s)]
			for j := 0; j < len(s); j++ {
				c := s[j]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				buf[j] = c
			}
			return view(buf)
		}
	}
	return s
}

// Header is the request's fields as the router reads them;
// exchange.Header is one.
type Header interface {
	Len() int
	At(i int) (name, value []byte)
}

// reqFields is where a search reads the request's fields: net/http's map
// (Input), or a view's list.
type reqFields struct {
	m http.Header
	v Header
}

// match reports whether one of the request's fields named hm.name
// satisfies hm.
func (f *reqFields) match(hm *headerMatcher) bool {
	if f.v == nil {
		for _, g := range f.m[hm.name] {
			if hm.matchValue(g) {
				return true
			}
		}
		return false
	}
	for i, n := 0, f.v.Len(); i < n; i++ {
		name, value := f.v.At(i)
		if exchange.FieldNameIs(name, hm.name) && hm.matchValue(view(value)) {
			return true
		}
	}
	return false
}
