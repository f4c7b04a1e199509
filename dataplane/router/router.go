package router

import (
	"net/http"

	"github.com/skyport-gw/skyport/internal/model"
)

// Input is one request as the router sees it.
type Input struct {
	// Method is the request method ("GET").
	Method string
	// Host is the Host header, possibly with ":port".
	Host string
	// Path is the raw request path (r.URL.EscapedPath()); the router
	// normalizes it before matching.
	Path string
	// Header holds the request headers, with canonical keys.
	Header http.Header
	// TLS reports whether the request came over TLS. A route's SNIs only
	// apply to such requests.
	TLS bool
	// SNI is the TLS server name.
	SNI string
	// Port is the listener's port. A route host with a port compares
	// with the port in Host, or with Port when Host has none.
	Port int
}

// Match is the router's answer.
type Match struct {
	// Route is the matched route.
	Route *model.Route
	// Service is the route's service (nil if the route has none).
	Service *model.Service
	// Path is the normalized path that was matched.
	Path string
	// Prefix is the part of Path the route's path matched: the prefix, or
	// the regex's whole match; "" when the route has no paths.
	Prefix string
	// Captures holds regex captures, numbered ("0", "1", …) and named; nil
	// for prefix matches.
	Captures map[string]string

	// path holds MatchRequest's copy of the request's path when it fits:
	// a Match kept with its request (the proxy's exchange) then costs no
	// allocation. Path, Prefix and Captures may share it, so a Match
	// answers one request: a caller that reuses one for another keeps
	// clones of the strings it needs, and a copy of a Match (m2 := *m)
	// shares m's strings, which change when m is reused.
	path [pathCopy]byte
}

// pathCopy is the longest path a Match holds itself.
const pathCopy = 64

// Router is an immutable, compiled set of routes. It is safe for
// concurrent use.
type Router struct {
	exact  map[string]*bucket // plain hosts, lowercased, without port
	suffix wildcards          // "*.example.com", keyed ".example.com"
	prefix wildcards          // "example.*", keyed "example."
	any    *bucket            // routes without hosts
	size   int                // compiled entries
	// routes and services are the lists compiled, which Update compares
	// the next ones with.
	routes   []*model.Route
	services []*model.Service
}

// New compiles routes (and the services they point to) into an immutable
// router. It refuses an invalid regex or a route pointing to an unknown
// service with an error naming the route (wrapping ErrInvalidRegex or
// ErrUnknownService). Routes whose service has enabled=false are left out,
// as Kong does.
func New(routes []*model.Route, services []*model.Service) (*Router, error) {
	entries, err := compile(routes, services)
	if err != nil {
		return nil, err
	}
	r := index(entries)
	r.routes, r.services = routes, services
	return r, nil
}

// Len reports how many route entries the router holds: one per route, or
// more for a route whose paths Kong splits into groups.
func (r *Router) Len() int { return r.size }

// Match returns the best route for in, or nil.
func (r *Router) Match(in *Input) *Match {
	m := new(Match)
	if !r.MatchInto(in, m) {
		return nil
	}
	return m
}

// MatchInto is Match writing the answer into m: it reports whether a
// route matched and, unless the route's path is a regex (whose captures
// are a map), does not allocate.
func (r *Router) MatchInto(in *Input, m *Match) bool {
	s := search{method: in.Method, path: Normalize(in.Path), header: reqFields{m: in.Header},
		tls: in.TLS, sni: in.SNI}
	r.lookup(&s, in.Host, in.Port)
	return s.result(m, false)
}

// lookup runs s on the buckets the request's host (Host, possibly with a
// port) selects; port is the listener's.
func (r *Router) lookup(s *search, host string, port int) {
	// net.dst.port is the port in Host, else the listener's
	// (kong/router/fields.lua; atc.lua splits Host with split_host_port).
	host, p, ok := splitHostPort(host)
	s.port = port
	if ok {
		s.port = p
	}
	host = lowerASCII(host)
	r.findHost(s, host)
}

func (r *Router) findHost(s *search, host string) {
	if b := r.exact[host]; b != nil {
		s.scan(b)
	}
	if beats(r.suffix.top, s.best) {
		for _, n := range r.suffix.lens {
			if n > len(host) {
				break
			}
			if b := r.suffix.m[host[len(host)-n:]]; b != nil {
				s.scan(b)
			}
		}
	}
	if beats(r.prefix.top, s.best) {
		for _, n := range r.prefix.lens {
			if n > len(host) {
				break
			}
			if b := r.prefix.m[host[:n]]; b != nil {
				s.scan(b)
			}
		}
	}
	s.scan(r.any)
}
