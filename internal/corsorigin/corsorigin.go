// Package corsorigin reads the cors plugin's origins as Kong 3.9.3's
// kong/plugins/cors/handler.lua does: "*", exact origins compared after
// normalization (scheme, host, a port other than the scheme's default),
// and regular expressions anchored at the start and, unless written
// otherwise, at the end, matched against the request origin's host when
// they name no port or scheme (no ":"), else against the whole origin.
//
// The one Compile serves the Admin API's validation
// (internal/pluginschema) and the data plane's cors plugin alike, so a
// configuration is refused by both or by neither. Expressions are Go's
// RE2, not PCRE: lookarounds and backreferences are refused.
//
// It depends on nothing in the project.
package corsorigin

import (
	"fmt"
	"regexp"
	"strings"
)

// Any is the origin that allows every origin.
const Any = "*"

// List is a compiled origins list.
type List struct {
	// AllowAll: no origins, or "*" alone; every response carries
	// Access-Control-Allow-Origin: *.
	AllowAll bool
	// Single is the origin of a list of one that is not an expression: it
	// is the Access-Control-Allow-Origin of every response, whatever the
	// request's Origin.
	Single string
	// Wildcard: "*" among other origins; a request that carries an Origin
	// is then answered as AllowAll answers it.
	Wildcard bool

	entries []entry
}

// entry is one origin other than "*".
type entry struct {
	// domain is a plain origin, normalized; re is set for an expression.
	domain string
	re     *regexp.Regexp
	// byHost: the entry has no ":", so an expression sees only the
	// request origin's host.
	byHost bool
}

// Error reports an origin that does not compile.
type Error struct {
	// Index is the origin's position in the list, from 0.
	Index  int
	Origin string
	Err    error
}

// Error implements error, with Kong's wording.
func (e *Error) Error() string {
	return fmt.Sprintf("'%s' is not a valid regex: %v", e.Origin, e.Err)
}

// Unwrap returns the compiler's error.
func (e *Error) Unwrap() error { return e.Err }

// Message is the validation message Kong's schema gives
// (kong/plugins/cors/schema.lua).
func (e *Error) Message() string { return fmt.Sprintf("'%s' is not a valid regex", e.Origin) }

// literal is how Kong tells a plain origin from an expression.
var literal = regexp.MustCompile(`^[A-Za-z0-9.:/-]+$`)

// Compile reads origins; the first that does not compile is an *Error.
func Compile(origins []string) (*List, error) {
	l := &List{}
	if len(origins) == 0 || (len(origins) == 1 && origins[0] == Any) {
		l.AllowAll = true
		return l, nil
	}
	for i, o := range origins {
		if o == Any {
			l.Wildcard = true
			continue
		}
		e := entry{byHost: !strings.Contains(o, ":")}
		if literal.MatchString(o) {
			e.domain = Normalize(o).Domain
		} else {
			re, err := compileExpr(o)
			if err != nil {
				return nil, &Error{Index: i, Origin: o, Err: err}
			}
			e.re = re
		}
		l.entries = append(l.entries, e)
	}
	if len(origins) == 1 && literal.MatchString(origins[0]) {
		l.Single = origins[0]
	}
	return l, nil
}

// compileExpr anchors an origin expression as Kong does: a trailing "$"
// is added unless present, a leading "^" dropped, and the match anchored
// at the start.
func compileExpr(o string) (*regexp.Regexp, error) {
	if !strings.HasSuffix(o, "$") {
		o += "$"
	}
	o = strings.TrimPrefix(o, "^")
	re, err := regexp.Compile(`^(?:` + o + `)`)
	if err != nil {
		return nil, fmt.Errorf("compiling origin expression: %w", err)
	}
	return re, nil
}

// Match returns the Access-Control-Allow-Origin for a request Origin that
// one of the entries allows (the origin, normalized), and false when none
// does. It does not look at AllowAll, Single or Wildcard.
func (l *List) Match(origin string) (string, bool) {
	n := Normalize(origin)
	for _, e := range l.entries {
		var ok bool
		switch {
		case e.re != nil && e.byHost:
			ok = e.re.MatchString(n.Host)
		case e.re != nil:
			ok = e.re.MatchString(n.Domain)
		default:
			ok = n.Domain == e.domain
		}
		if ok {
			return n.Domain, true
		}
	}
	return "", false
}

// Origin is a normalized origin.
type Origin struct {
	// Domain is scheme://host[:port] without a default port; the input
	// itself when it names no host.
	Domain string
	// Host is the host alone; the input itself when it names no host.
	Host string
}

// Normalize reads an origin as Kong's normalize_origin does, with
// LuaSocket's url.parse: the scheme is what precedes the first ":" when
// it looks like one, the authority follows "//", the port is what follows
// its last ":", an IPv6 host loses its brackets. Case is kept.
func Normalize(s string) Origin {
	rest := s
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	scheme := ""
	if i := strings.IndexByte(rest, ':'); i > 0 && isScheme(rest[:i]) {
		scheme, rest = rest[:i], rest[i+1:]
	}
	if !strings.HasPrefix(rest, "//") {
		return Origin{Domain: s, Host: s}
	}
	authority := rest[2:]
	if i := strings.IndexByte(authority, '/'); i >= 0 {
		authority = authority[:i]
	}
	if i := strings.IndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	port, hasPort := "", false
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.ContainsRune(authority[i+1:], ']') {
		port, hasPort, authority = authority[i+1:], true, authority[:i]
	}
	if authority == "" {
		return Origin{Domain: s, Host: s}
	}
	host := authority
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		hasPort = false
	}
	d := host
	if scheme != "" {
		d = scheme + "://" + host
	}
	if hasPort {
		d += ":" + port
	}
	return Origin{Domain: d, Host: host}
}

// isScheme is LuaSocket's scheme pattern, [%w][%w%+%-%.]*.
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '+' && c != '-' && c != '.')) {
			return false
		}
	}
	return s != ""
}
