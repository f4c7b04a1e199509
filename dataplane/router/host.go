package router

import "strings"

// hostKind says how a route's host compares with the request's.
type hostKind uint8

const (
	hostPlain  hostKind = iota // equal
	hostSuffix                 // "*.example.com": ends with ".example.com"
	hostPrefix                 // "example.*": starts with "example."
	hostAny                    // no host: the key of the bucket of routes without hosts (Update)
)

// hostKey is one compiled route host.
type hostKey struct {
	kind hostKind
	key  string // lower case, without the wildcard and port
	port int    // 0 matches any port
}

func parseHostKey(h string) hostKey {
	host, port, _ := splitHostPort(h)
	host = strings.ToLower(host)
	switch {
	case strings.HasPrefix(host, "*"):
		return hostKey{kind: hostSuffix, key: host[1:], port: port}
	case strings.HasSuffix(host, "*"):
		return hostKey{kind: hostPrefix, key: host[:len(host)-1], port: port}
	}
	return hostKey{kind: hostPlain, key: host, port: port}
}

// splitHostPort splits "host:port" as Kong's split_host_port does
// (kong/router/transform.lua): at the first colon, when all that follows
// is a number; otherwise the whole string is the host. So "[::1]:80" and
// "::1" stay whole. A port beyond 65535 is reported as -1, which no route
// port equals. ok reports whether there was a port.
func splitHostPort(h string) (host string, port int, ok bool) {
	i := strings.IndexByte(h, ':')
	if i < 0 || i == len(h)-1 {
		return h, 0, false
	}
	for j := i + 1; j < len(h); j++ {
		c := h[j]
		if c < '0' || c > '9' {
			return h, 0, false
		}
		if port >= 0 {
			port = port*10 + int(c-'0')
			if port > 65535 {
				port = -1
			}
		}
	}
	return h[:i], port, true
}

// lowerASCII lower-cases s, allocating only when s has upper-case letters.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// wildcards indexes wildcard hosts by their fixed part; lens lists the
// distinct key lengths, shortest first, so a lookup tries one map probe per
// length; top is the best entry of all the buckets (retop), so that a
// search with a better match probes none.
type wildcards struct {
	m    map[string]*bucket
	lens []int
	top  *entry
}

// retop sets w.top from w's buckets.
func (w *wildcards) retop() {
	w.top = nil
	for _, b := range w.m {
		if b.top != nil && (w.top == nil || b.top.outranks(w.top)) {
			w.top = b.top
		}
	}
}

// beats reports whether a search whose best match so far is best (nil
// for none) may find a better one among entries whose best is top.
func beats(top, best *entry) bool {
	return top != nil && (best == nil || top.outranks(best))
}

func (w *wildcards) bucket(key string) *bucket {
	if w.m == nil {
		w.m = map[string]*bucket{}
	}
	b := w.m[key]
	if b == nil {
		b = &bucket{}
		w.m[key] = b
		w.lens = insertLen(w.lens, len(key))
	}
	return b
}

// insertLen adds n to the sorted set lens.
func insertLen(lens []int, n int) []int {
	for i, l := range lens {
		if l == n {
			return lens
		}
		if l > n {
			return append(lens[:i], append([]int{n}, lens[i:]...)...)
		}
	}
	return append(lens, n)
}
