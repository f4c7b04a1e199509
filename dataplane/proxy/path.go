package proxy

import (
	"net/url"
	"strings"
)

// upstreamPath joins the service's path (base, "/" when unset) and the
// request path as Kong does. reqPath is the normalized request path and
// prefix the part of it the route matched ("" when the route has no
// paths); strip is the route's strip_path. A route's path_handling plays
// no part: Kong's traditional_compatible router always joins as v0
// (kong/router/atc.lua set_upstream_uri calls get_upstream_uri_v0, and
// kong/db/schema/entities/routes.lua warns that v1 "will not work under
// 'expressions' or 'traditional_compatible' router_flavor").
func upstreamPath(base, reqPath, prefix string, strip bool) string {
	if base == "" {
		base = "/"
	}
	postfix := reqPath[min(1, len(reqPath)):]
	if strip && prefix != "" {
		postfix = sanitizePostfix(reqPath[len(prefix):])
	}
	return joinV0(base, reqPath, postfix, strip && prefix != "")
}

// joinV0 is Kong's get_upstream_uri (path_handling v0).
func joinV0(base, reqPath, postfix string, strip bool) string {
	if strings.HasSuffix(base, "/") {
		if !strip {
			return base + reqPath[min(1, len(reqPath)):]
		}
		switch {
		case postfix == "":
			if base == "/" {
				return "/"
			}
			if strings.HasSuffix(reqPath, "/") {
				return base
			}
			return base[:len(base)-1]
		case postfix[0] == '/':
			return base[:len(base)-1] + postfix
		default:
			return base + postfix
		}
	}
	if !strip {
		if reqPath == "/" {
			return base
		}
		return base + reqPath
	}
	switch {
	case postfix == "":
		if len(reqPath) > 1 && strings.HasSuffix(reqPath, "/") {
			return base + "/"
		}
		return base
	case postfix[0] == '/':
		return base + postfix
	default:
		return base + "/" + postfix
	}
}

// sanitizePostfix drops a leading "." or ".." segment left after
// stripping, as Kong does.
func sanitizePostfix(p string) string {
	switch {
	case p == "." || p == "..":
		return ""
	case strings.HasPrefix(p, "./"):
		return p[2:]
	case strings.HasPrefix(p, "../"):
		return p[3:]
	}
	return p
}

// setPath stores a path in u, keeping its exact encoding: percent-encoded
// triplets stay as they are (the router keeps reserved characters encoded)
// and bytes not allowed in a path are escaped.
func setPath(u *url.URL, p string) {
	escaped := escapeInvalid(p)
	dec, err := url.PathUnescape(escaped)
	if err != nil {
		u.Path, u.RawPath = p, ""
		return
	}
	u.Path, u.RawPath = dec, ""
	if dec != escaped {
		u.RawPath = escaped
	}
}

// escapeInvalid percent-encodes the bytes RFC 3986 does not allow in a
// path, leaving '%' alone; it allocates only when something changes.
func escapeInvalid(p string) string {
	n := 0
	for i := 0; i < len(p); i++ {
		if !pathByte(p[i]) {
			n++
		}
	}
	if n == 0 {
		return p
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(p)+2*n)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if pathByte(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/%", c) >= 0
}
