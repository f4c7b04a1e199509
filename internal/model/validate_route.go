package model

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
)

// Route rules (kong/db/schema/entities/routes.lua and its subschemas).

var (
	routeProtocols  = []string{"grpc", "grpcs", "http", "https", "tcp", "tls", "udp", "ws", "wss"}
	streamProtocols = []string{"tcp", "tls", "udp"}
	// methodToken is Kong's http_method: upper-case letters only
	// (kong/db/schema/typedefs.lua, match = "^%u+$"); "get" is refused,
	// not upper-cased.
	methodToken = regexp.MustCompile(`^[A-Z]+$`)
)

// Normalize implements Entity: header names and SNIs are lowercased.
// Hosts keep the case they were given, as Kong keeps them (the data plane
// compares them without case); methods are left as given, since Kong
// refuses lower case.
func (r *Route) Normalize() {
	for i, s := range r.SNIs {
		r.SNIs[i] = strings.ToLower(s)
	}
	for i, p := range r.Protocols {
		r.Protocols[i] = strings.ToLower(p)
	}
	if len(r.Headers) > 0 {
		h := make(map[string][]string, len(r.Headers))
		names := make([]string, 0, len(r.Headers))
		for k := range r.Headers {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			lk := strings.ToLower(k)
			h[lk] = append(h[lk], r.Headers[k]...)
		}
		r.Headers = h
	}
}

// Validate implements Entity.
func (r *Route) Validate() error {
	f := FieldErrors{}
	checkBase(f, &r.Base)
	checkName(f, "name", r.Name)
	if len(r.Protocols) == 0 {
		f.Add("protocols", msgEmpty)
	}
	for i, p := range r.Protocols {
		checkOneOf(f, fmt.Sprintf("protocols.%d", i+1), p, routeProtocols...)
	}
	if msg := exclusiveProtocols(r.Protocols); msg != "" {
		f.Add("protocols", msg)
	}
	for i, m := range r.Methods {
		if !methodToken.MatchString(m) {
			f.Add(fmt.Sprintf("methods.%d", i+1), fmt.Sprintf("invalid value: %s", m))
		}
	}
	for i, h := range r.Hosts {
		if msg := checkWildcardHost(h, true); msg != "" {
			f.Add(fmt.Sprintf("hosts.%d", i+1), msg)
		}
	}
	for i, s := range r.SNIs {
		if msg := checkWildcardHost(s, false); msg != "" {
			f.Add(fmt.Sprintf("snis.%d", i+1), msg)
		}
	}
	for i, p := range r.Paths {
		if msg := checkRoutePath(p); msg != "" {
			f.Add(fmt.Sprintf("paths.%d", i+1), msg)
		}
	}
	for name, values := range r.Headers {
		if strings.EqualFold(name, "host") {
			f.Add("headers", "cannot contain 'host' header")
		} else if len(values) == 0 {
			f.Add("headers."+name, msgEmpty)
		}
	}
	checkOneOf(f, "path_handling", r.PathHandling, "v0", "v1")
	checkOneOf(f, "https_redirect_status_code", r.HTTPSRedirectStatusCode, 426, 301, 302, 307, 308)
	if r.Service != nil {
		checkRef(f, "service", r.Service)
	}
	r.checkMatchFields(f)
	return f.Err()
}

// protocolSets are the route protocols that cannot be mixed (routes.lua's
// mutually_exclusive_subsets); ws and wss, Skyport's, mix with http.
var protocolSets = [][]string{{"http", "https"}, {"tcp", "tls", "udp"}, {"tls_passthrough"}, {"grpc", "grpcs"}}

// exclusiveProtocols returns Kong's message when protocols draws on more
// than one of protocolSets (the sets named in the order their first
// member appears), or "".
func exclusiveProtocols(protocols []string) string {
	var sets []int
	for _, p := range protocols {
		for i, set := range protocolSets {
			if slices.Contains(set, p) && !slices.Contains(sets, i) {
				sets = append(sets, i)
			}
		}
	}
	if len(sets) <= 1 {
		return ""
	}
	names := make([]string, len(sets))
	for i, set := range sets {
		quoted := make([]string, len(protocolSets[set]))
		for j, p := range protocolSets[set] {
			quoted[j] = "'" + p + "'"
		}
		names[i] = "(" + strings.Join(quoted, ", ") + ")"
	}
	return "these sets are mutually exclusive: " + strings.Join(names, ", ")
}

// checkMatchFields is Kong's per-protocol "at least one matching field"
// rule; its message is reported on the entity ("@entity").
func (r *Route) checkMatchFields(f FieldErrors) {
	has := func(list ...string) bool {
		return slices.ContainsFunc(r.Protocols, func(p string) bool { return slices.Contains(list, p) })
	}
	if len(r.SNIs) > 0 && !has("https", "grpcs", "tls", "wss") {
		f.Add("snis", "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'")
	}
	if has(streamProtocols...) {
		for field, n := range map[string]int{"methods": len(r.Methods), "hosts": len(r.Hosts),
			"paths": len(r.Paths), "headers": len(r.Headers)} {
			if n > 0 {
				f.Add(field, fmt.Sprintf("cannot set '%s' when 'protocols' is 'tcp', 'tls' or 'udp'", field))
			}
		}
		if len(r.Sources) == 0 && len(r.Destinations) == 0 && len(r.SNIs) == 0 {
			f.Add("@entity", "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'")
		}
		return
	}
	if len(r.Sources) > 0 {
		f.Add("sources", "cannot set 'sources' when 'protocols' is 'http' or 'https'")
	}
	if len(r.Destinations) > 0 {
		f.Add("destinations", "cannot set 'destinations' when 'protocols' is 'http' or 'https'")
	}
	if len(r.Methods)+len(r.Hosts)+len(r.Headers)+len(r.Paths)+len(r.SNIs) > 0 {
		return
	}
	for _, p := range []string{"http", "https", "grpc", "grpcs", "ws", "wss"} {
		if slices.Contains(r.Protocols, p) {
			f.Add("@entity", fmt.Sprintf("must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is '%s'", p))
			return
		}
	}
}

// checkRoutePath returns Kong's message for a bad route path, or "".
func checkRoutePath(p string) string {
	switch {
	case strings.HasPrefix(p, "~"):
		if _, err := regexp.Compile(p[1:]); err != nil {
			reason := err.Error()
			var se *syntax.Error
			if errors.As(err, &se) {
				reason = string(se.Code)
			}
			return fmt.Sprintf("invalid regex: '%s' (%s)", p[1:], reason)
		}
	case !strings.HasPrefix(p, "/"):
		return "should start with: / (fixed path) or ~/ (regex path)"
	case strings.Contains(p, "//"):
		return "must not have empty segments"
	}
	return ""
}

// checkWildcardHost returns Kong's message for a bad route host or SNI
// (one wildcard, as the leftmost or rightmost label), or "".
func checkWildcardHost(h string, allowPort bool) string {
	name := h
	if allowPort {
		host, port, ok := splitHostPort(h)
		if !ok || port > 65535 {
			return "invalid value: " + h
		}
		name = host
	}
	switch n := strings.Count(name, "*"); {
	case n > 1:
		return "invalid wildcard: must have at most one wildcard"
	case n == 1:
		if !strings.HasPrefix(name, "*.") && !strings.HasSuffix(name, ".*") {
			return "invalid wildcard: must be placed at leftmost or rightmost label"
		}
		name = strings.Replace(name, "*", "wildcard", 1)
	}
	if !validHostname(name) {
		return "invalid hostname: " + h
	}
	return ""
}
