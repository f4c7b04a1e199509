package upstream

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// HashInput is what consistent hashing may hash on, taken from a request.
type HashInput struct {
	// Consumer is the authenticated consumer's id; Credential the
	// credential's id, used when there is no consumer (as Kong does).
	Consumer, Credential string
	// ClientIP is the client's address without port.
	ClientIP string
	// Header is the request's headers (cookies included).
	Header http.Header
	// Path is the normalized request path.
	Path string
	// Query is the request's raw query string.
	Query string
	// Captures are the route's regex captures.
	Captures map[string]string
}

// Cookie is a hashing cookie the data plane created because the request
// had none; the proxy sends it back with Set-Cookie.
type Cookie struct {
	Name, Value, Path string
}

// String renders the Set-Cookie value.
func (c *Cookie) String() string {
	return (&http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path}).String()
}

// Hashing reports whether the pool balances by consistent hashing.
func (p *Pool) Hashing() bool { return p.algorithm == "consistent-hashing" }

// HashFields are the names of the request fields HashKey reads from
// HashInput.Header: hash_on's or hash_fallback's header, and Cookie for a
// cookie; none when it hashes on something else.
func (p *Pool) HashFields() []string {
	u := p.up
	var out []string
	for _, f := range [...]struct {
		on     string
		header *string
	}{{u.HashOn, u.HashOnHeader}, {u.HashFallback, u.HashFallbackHeader}} {
		switch f.on {
		case "header":
			out = append(out, deref(f.header))
		case "cookie":
			out = append(out, "Cookie")
		}
	}
	return out
}

// HashKey returns the value to hash for in: hash_on, else hash_fallback.
// When the value comes from a cookie the request does not have, a new
// cookie value is generated and returned so the client keeps its target.
func (p *Pool) HashKey(in *HashInput) (string, *Cookie) {
	u := p.up
	key := hashValue(u.HashOn, in, deref(u.HashOnHeader), deref(u.HashOnQueryArg), deref(u.HashOnURICapture), deref(u.HashOnCookie))
	if key == "" && u.HashOn != "cookie" {
		key = hashValue(u.HashFallback, in, deref(u.HashFallbackHeader), deref(u.HashFallbackQueryArg), deref(u.HashFallbackURICapture), deref(u.HashOnCookie))
		if key == "" && u.HashFallback == "cookie" {
			return newCookie(u.HashOnCookie, u.HashOnCookiePath)
		}
	} else if key == "" {
		return newCookie(u.HashOnCookie, u.HashOnCookiePath)
	}
	return key, nil
}

func newCookie(name *string, path string) (string, *Cookie) {
	c := &Cookie{Name: deref(name), Value: uuid.NewString(), Path: path}
	return c.Value, c
}

func hashValue(on string, in *HashInput, header, arg, capture, cookie string) string {
	switch on {
	case "consumer":
		if in.Consumer != "" {
			return in.Consumer
		}
		return in.Credential
	case "ip":
		return in.ClientIP
	case "header":
		return strings.Join(in.Header.Values(header), ",")
	case "cookie":
		if c, err := (&http.Request{Header: in.Header}).Cookie(cookie); err == nil {
			return c.Value
		}
	case "path":
		return in.Path
	case "query_arg":
		if q, err := url.ParseQuery(in.Query); err == nil {
			return strings.Join(q[arg], ",")
		}
	case "uri_capture":
		return in.Captures[capture]
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
