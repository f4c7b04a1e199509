package h1

import (
	"bytes"
	"net/http"
)

// parseHead parses a complete request head (as scan delimited it) into r.
// Fields are views into head. Every refusal is a *headError carrying
// nginx's status; the cases and their answers are listed in doc.go.
func (r *Request) parseHead(head []byte) *headError {
	lf := bytes.IndexByte(head, '\n')
	if err := r.parseRequestLine(dropCR(head[:lf])); err != nil {
		return err
	}
	rest := head[lf+1:]
	for {
		lf = bytes.IndexByte(rest, '\n')
		line := dropCR(rest[:lf])
		rest = rest[lf+1:]
		if len(line) == 0 {
			break
		}
		if err := r.parseField(line); err != nil {
			return err
		}
	}
	return r.frame()
}

// dropCR removes the CR of a CRLF line ending; a bare LF ends a line too
// (RFC 9112 section 2.2, as net/http and nginx read heads).
func dropCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// parseRequestLine reads "METHOD SP request-target SP HTTP/1.x", split at
// the first two spaces as net/http splits it.
func (r *Request) parseRequestLine(line []byte) *headError {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return badRequest("malformed request line")
	}
	r.method, line = line[:sp], line[sp+1:]
	sp = bytes.IndexByte(line, ' ')
	if sp < 0 {
		// "GET /": HTTP/0.9, which neither net/http nor Kong serves.
		return badRequest("malformed request line")
	}
	r.target, line = line[:sp], line[sp+1:]
	if len(r.method) == 0 || !validToken(r.method) {
		return badRequest("invalid method")
	}
	major, minor, ok := parseVersion(line)
	if !ok {
		return badRequest("malformed HTTP version")
	}
	if major != 1 {
		return &headError{status: http.StatusHTTPVersionNotSupported, msg: msgVersion, why: "unsupported HTTP version"}
	}
	r.minor = minor
	return r.parseTarget()
}

// parseVersion reads "HTTP/x.y" with one digit each, as net/http does.
func parseVersion(v []byte) (major, minor int, ok bool) {
	if len(v) != len("HTTP/1.1") || string(v[:5]) != "HTTP/" || v[6] != '.' ||
		!isDigit(v[5]) || !isDigit(v[7]) {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}

// parseTarget splits the request-target into path and query. Origin form
// ("/p?q"), "*", absolute form with an http or https scheme (its
// authority becomes the request's host) and, for CONNECT, authority form
// are accepted; other forms are refused.
func (r *Request) parseTarget() *headError {
	t := r.target
	if len(t) == 0 {
		return badRequest("empty request target")
	}
	for _, c := range t {
		if c < 0x20 || c == 0x7f {
			return badRequest("control character in request target")
		}
	}
	switch {
	case t[0] == '/':
		return r.splitPath(t)
	case len(t) == 1 && t[0] == '*':
		r.path = t
		return nil
	case string(r.method) == http.MethodConnect:
		if !validAuthority(t) {
			return badRequest("invalid CONNECT authority")
		}
		r.host, r.hostFromTarget = t, true
		return nil
	}
	var rest []byte
	switch {
	case hasPrefixFold(t, "http://"):
		rest = t[len("http://"):]
	case hasPrefixFold(t, "https://"):
		rest = t[len("https://"):]
	default:
		return badRequest("unsupported request target form")
	}
	end := len(rest)
	if i := bytes.IndexAny(rest, "/?"); i >= 0 {
		end = i
	}
	if !validAuthority(rest[:end]) {
		return badRequest("invalid authority in absolute-form target")
	}
	r.host, r.hostFromTarget = rest[:end], true
	if end == len(rest) || rest[end] == '?' {
		// "http://h" and "http://h?q" name the path "/".
		r.path = slash
		if end < len(rest) {
			r.query = rest[end+1:]
		}
		return nil
	}
	return r.splitPath(rest[end:])
}

var slash = []byte("/")

// splitPath sets path and query from an origin-form target, checking the
// path's percent-encoding as net/http's URL parser does.
func (r *Request) splitPath(t []byte) *headError {
	path := t
	if i := bytes.IndexByte(t, '?'); i >= 0 {
		path, r.query = t[:i], t[i+1:]
	}
	for i := 0; i < len(path); i++ {
		if path[i] == '%' {
			if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
				return badRequest("invalid percent-encoding in path")
			}
			i += 2
		}
	}
	r.path = path
	return nil
}

// parseField reads one "name: value" line.
func (r *Request) parseField(line []byte) *headError {
	if line[0] == ' ' || line[0] == '\t' {
		// obs-fold (RFC 9112 section 5.2): refused, as the RFC allows and
		// as nginx does, rather than folded as net/http does.
		return badRequest("folded header line")
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return badRequest("malformed header line")
	}
	name, value := line[:colon], trimOWS(line[colon+1:])
	if !validToken(name) {
		return badRequest("invalid header name")
	}
	if !validValue(value) {
		return badRequest("invalid header value")
	}
	r.note(name, len(r.header.fields))
	r.header.add(name, value)
	return nil
}

// The fields that frame a request, noted as they are parsed.
const (
	kHost = iota
	kContentLength
	kTransferEncoding
	kConnection
	kExpect
	kTrailer
	kUpgrade
	numKnown
)

// known holds, per framing field, the index of its first occurrence (+1,
// 0 when absent) and how many there are.
type known struct {
	first [numKnown]int32
	count [numKnown]int32
}

// note records name at index i when it is one of the framing fields.
func (r *Request) note(name []byte, i int) {
	k := -1
	switch len(name) {
	case 4:
		if equalFold(name, "host") {
			k = kHost
		}
	case 6:
		if equalFold(name, "expect") {
			k = kExpect
		}
	case 7:
		if equalFold(name, "trailer") {
			k = kTrailer
		} else if equalFold(name, "upgrade") {
			k = kUpgrade
		}
	case 10:
		if equalFold(name, "connection") {
			k = kConnection
		}
	case 14:
		if equalFold(name, "content-length") {
			k = kContentLength
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			k = kTransferEncoding
		}
	}
	if k < 0 {
		return
	}
	if r.known.count[k] == 0 {
		r.known.first[k] = int32(i) + 1
	}
	r.known.count[k]++
}

// value returns the first value of a framing field, nil when absent.
func (r *Request) value(k int) []byte {
	if i := r.known.first[k]; i > 0 {
		return r.header.fields[i-1].value
	}
	return nil
}
