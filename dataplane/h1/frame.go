package h1

import (
	"encoding/binary"
	"net/http"
	"net/netip"
	"strings"
)

// frame applies the rules on the framing fields once the head is parsed:
// Host, the body's length, persistence and expectations. Where net/http
// accepts a request that could be read two ways (Content-Length with
// Transfer-Encoding, repeated Content-Length, Transfer-Encoding on
// HTTP/1.0), the request is refused as nginx refuses it.
func (r *Request) frame() *headError {
	if err := r.frameHost(); err != nil {
		return err
	}
	if err := r.frameBody(); err != nil {
		return err
	}
	keepAlive := false
	for i := r.known.first[kConnection] - 1; i >= 0 && int(i) < len(r.header.fields); i++ {
		f := &r.header.fields[i]
		if !equalFold(f.name, "connection") {
			continue
		}
		r.close = r.close || hasToken(f.value, "close")
		keepAlive = keepAlive || hasToken(f.value, "keep-alive")
		r.upgrade = r.upgrade || hasToken(f.value, "upgrade")
	}
	r.upgrade = r.upgrade && r.known.count[kUpgrade] > 0
	if r.minor == 0 && !keepAlive {
		r.close = true
	}
	if r.known.count[kExpect] > 0 {
		v := r.value(kExpect)
		switch {
		case hasBoundedToken(v, "100-continue"):
			r.expectContinue = r.minor >= 1 && r.contentLength != 0
		case len(v) > 0:
			return &headError{status: http.StatusExpectationFailed, msg: msgExpectation, why: "unsupported expectation"}
		}
	}
	return nil
}

func (r *Request) frameHost() *headError {
	switch n := r.known.count[kHost]; {
	case n > 1:
		return badRequest("more than one Host field")
	case n == 0 && r.minor >= 1 && string(r.method) != http.MethodConnect:
		return badRequest("missing Host field")
	case n == 1 && !validHostHeader(r.value(kHost)):
		return badRequest("malformed Host field")
	}
	if !r.hostFromTarget {
		r.host = r.value(kHost)
	}
	return nil
}

func (r *Request) frameBody() *headError {
	r.contentLength = 0
	if n := r.known.count[kTransferEncoding]; n > 0 {
		switch {
		case r.minor == 0:
			return badRequest("Transfer-Encoding on an HTTP/1.0 request")
		case n > 1 || !equalFold(r.value(kTransferEncoding), "chunked"):
			return &headError{status: http.StatusNotImplemented, msg: msgNotImplemented, why: "unsupported transfer encoding"}
		case r.known.count[kContentLength] > 0:
			return badRequest("both Content-Length and Transfer-Encoding")
		}
		r.chunked, r.contentLength = true, -1
		return r.checkTrailerNames()
	}
	switch r.known.count[kContentLength] {
	case 0:
		return nil
	case 1:
	default:
		return badRequest("more than one Content-Length field")
	}
	n, ok := parseLength(r.value(kContentLength))
	if !ok {
		return badRequest("invalid Content-Length")
	}
	r.contentLength = n
	return nil
}

// checkTrailerNames refuses a Trailer field that announces framing
// fields, as net/http does.
func (r *Request) checkTrailerNames() *headError {
	for i := r.known.first[kTrailer] - 1; i >= 0 && int(i) < len(r.header.fields); i++ {
		f := &r.header.fields[i]
		if equalFold(f.name, "trailer") && (hasToken(f.value, "transfer-encoding") ||
			hasToken(f.value, "content-length") || hasToken(f.value, "trailer")) {
			return badRequest("framing field announced as a trailer")
		}
	}
	return nil
}

// parseLength reads a Content-Length: decimal digits, at most 2^63-1.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// validToken reports whether b is an RFC 9110 token (a method or a field
// name).
func validToken(b []byte) bool {
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return true
}

// tchar marks the bytes of a token.
var tchar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlnum(byte(c)) || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// validValue reports whether b is a field value: no control characters
// but HTAB (so no bare CR, LF or NUL), obs-text allowed. Eight bytes are
// checked at a time; a word holding a byte below 0x20 or a DEL is looked
// at byte by byte.
func validValue(b []byte) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		y := x ^ (0x7f * ones)
		if (x-0x20*ones)&^x&high != 0 || (y-ones)&^y&high != 0 {
			if !validValueBytes(b[:8]) {
				return false
			}
		}
		b = b[8:]
	}
	return validValueBytes(b)
}

func validValueBytes(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validHostHeader accepts the bytes net/http accepts in a Host field
// (golang.org/x/net/http/httpguts.ValidHostHeader): letters, digits and
// the URI host punctuation.
func validHostHeader(b []byte) bool {
	for _, c := range b {
		if isAlnum(c) {
			continue
		}
		switch c {
		case '!', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', ':', ';', '=', '[', ']', '_', '~':
			continue
		}
		return false
	}
	return true
}

// validAuthority accepts "host[:port]" where host is a name of letters,
// digits and "-._~" or a bracketed IPv6 address; user information is
// refused.
func validAuthority(b []byte) bool {
	host := b
	if len(b) > 0 && b[0] == '[' {
		end := indexByte(b, ']')
		if end < 0 {
			return false
		}
		if _, err := netip.ParseAddr(string(b[1:end])); err != nil || !isIPv6(b[1:end]) {
			return false
		}
		host, b = nil, b[end+1:]
		if len(b) > 0 && b[0] != ':' {
			return false
		}
	} else if i := indexByte(b, ':'); i >= 0 {
		host, b = b[:i], b[i:]
	} else {
		b = nil
	}
	if host != nil {
		if len(host) == 0 {
			return false
		}
		for _, c := range host {
			if !isAlnum(c) && c != '-' && c != '.' && c != '_' && c != '~' {
				return false
			}
		}
	}
	if len(b) > 0 {
		for _, c := range b[1:] {
			if !isDigit(c) {
				return false
			}
		}
	}
	return true
}

func isIPv6(b []byte) bool { return indexByte(b, ':') >= 0 && indexByte(b, '%') < 0 }

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && equalFold(b[:len(prefix)], prefix)
}
