package reqbody

import (
	"bufio"
	"bytes"
	"errors"
	"mime"
	"net/http"
	"net/textproto"
	"strings"
)

// Bounds on a multipart/form-data body, beyond MaxSize: a body with more
// parts, or a part with a larger header block, is not understood (as a
// body Kong cannot parse, it holds no fields).
const (
	// MaxParts bounds the parts of a multipart body, as Go's
	// mime/multipart bounds ReadForm (1000 parts).
	MaxParts = 1000
	// MaxPartHeader bounds one part's header block, in bytes.
	MaxPartHeader = 16 << 10
	// maxBoundary is RFC 2046's limit on a boundary's length.
	maxBoundary = 70
)

var errMultipart = errors.New("malformed multipart body")

// quoteEscaper escapes a quoted-string's specials, as mime/multipart's
// Writer does.
var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// Parts is a parsed multipart/form-data body. Its parts are kept as
// they arrived, headers included, so a body rewritten by Delete and Set
// differs from the original only in the parts those change.
type Parts struct {
	boundary string
	// head is the preamble, up to the first delimiter; tail is the close
	// delimiter and the epilogue.
	head, tail []byte
	parts      []part
}

// part is one part: raw runs from its delimiter ("--boundary", without
// the CRLF before it) to the end of its content.
type part struct {
	raw   []byte
	name  string
	value []byte
}

// boundary returns the boundary of a multipart/form-data Content-Type,
// or "" when ct is another type or its boundary is missing or invalid.
func boundary(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" {
		return ""
	}
	b := params["boundary"]
	if len(b) == 0 || len(b) > maxBoundary || strings.ContainsAny(b, "\r\n") {
		return ""
	}
	return b
}

// ReadParts buffers r's multipart/form-data body and parses it; ok
// is false for another body, one over MaxSize, or one that does not
// parse within the bounds. An empty body has no parts (fields Set on it
// make a body of them).
func ReadParts(r *http.Request) (m *Parts, ok bool) {
	bd := boundary(r.Header.Get("Content-Type"))
	if bd == "" {
		return nil, false
	}
	b, err := Read(r)
	if err != nil {
		return nil, false
	}
	if len(b) == 0 {
		return &Parts{boundary: bd, tail: []byte("--" + bd + "--\r\n")}, true
	}
	m, err = parseMultipart(b, bd)
	return m, err == nil
}

// parseMultipart splits body into parts at the delimiters of boundary
// bd, as RFC 2046 frames them: "--bd" at the start of the body or after
// a CRLF, then optional spaces or tabs and a CRLF, or "--" for the last.
func parseMultipart(body []byte, bd string) (*Parts, error) {
	m := &Parts{boundary: bd}
	delim := []byte("--" + bd)
	start, last, err := nextDelimiter(body, delim, 0, true)
	if err != nil {
		return nil, err
	}
	m.head = body[:start]
	for !last {
		if len(m.parts) == MaxParts {
			return nil, errMultipart
		}
		// content begins after the delimiter line's CRLF.
		content := bytes.IndexByte(body[start:], '\n') + start + 1
		next, isLast, err := nextDelimiter(body, delim, content, false)
		if err != nil {
			return nil, err
		}
		// The CRLF before the next delimiter belongs to it.
		end := next - 2
		if end < content {
			return nil, errMultipart
		}
		p, err := parsePart(body[start:end], body[content:end])
		if err != nil {
			return nil, err
		}
		m.parts = append(m.parts, p)
		start, last = next, isLast
	}
	m.tail = body[start:]
	return m, nil
}

// nextDelimiter finds the delimiter line at or after from, returning
// where "--bd" begins and whether it is the close delimiter; first
// allows it at from itself (the start of the body) rather than only
// after a CRLF.
func nextDelimiter(body, delim []byte, from int, first bool) (int, bool, error) {
	if first && bytes.HasPrefix(body[from:], delim) {
		if last, ok := delimiterEnd(body[from+len(delim):]); ok {
			return from, last, nil
		}
	}
	crlfDelim := append([]byte("\r\n"), delim...)
	for i := from; ; {
		j := bytes.Index(body[i:], crlfDelim)
		if j < 0 {
			return 0, false, errMultipart
		}
		at := i + j + 2
		if last, ok := delimiterEnd(body[at+len(delim):]); ok {
			return at, last, nil
		}
		i = at
	}
}

// delimiterEnd reports whether rest (what follows "--bd") ends a
// delimiter line: "--" for the close delimiter, else transport padding
// (spaces, tabs) and a CRLF.
func delimiterEnd(rest []byte) (last, ok bool) {
	if bytes.HasPrefix(rest, []byte("--")) {
		return true, true
	}
	rest = bytes.TrimLeft(rest, " \t")
	return false, bytes.HasPrefix(rest, []byte("\r\n"))
}

// parsePart reads the header block of a part's content (within
// MaxPartHeader) and the name in its Content-Disposition; a part with no
// name (Kong's parser records none) has name "".
func parsePart(raw, content []byte) (part, error) {
	p := part{raw: raw}
	var hdr []byte
	switch {
	case len(content) == 0:
	case bytes.HasPrefix(content, []byte("\r\n")):
		p.value = content[2:]
	default:
		i := bytes.Index(content, []byte("\r\n\r\n"))
		if i < 0 || i+4 > MaxPartHeader {
			return part{}, errMultipart
		}
		hdr, p.value = content[:i+4], content[i+4:]
	}
	if len(hdr) == 0 {
		return p, nil
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(hdr))).ReadMIMEHeader()
	if err != nil {
		return part{}, errMultipart
	}
	if _, params, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		p.name = params["name"]
	}
	return p, nil
}

// Lookup returns what field name holds: one part of that name is a
// String (a file part too: Kong's parser keeps its content as the
// value), several are Multiple, as kong.request.get_body() makes a table
// of them.
func (m *Parts) Lookup(name string) (string, Field) {
	var v []byte
	n := 0
	for i := range m.parts {
		if name != "" && m.parts[i].name == name {
			if n == 0 {
				v = m.parts[i].value
			}
			n++
		}
	}
	switch n {
	case 0:
		return "", Absent
	case 1:
		return string(v), String
	}
	return "", Multiple
}

// Values returns the fields as kong.request.get_body() does
// (lua-multipart's get_all_with_arrays): a name's value, or the list of
// its values when it has several.
func (m *Parts) Values() map[string]any {
	out := make(map[string]any, len(m.parts))
	for _, p := range m.parts {
		if p.name == "" {
			continue
		}
		v := string(p.value)
		switch cur := out[p.name].(type) {
		case nil:
			out[p.name] = v
		case []any:
			out[p.name] = append(cur, v)
		default:
			out[p.name] = []any{cur, v}
		}
	}
	return out
}

// First returns the value of the first part named name.
func (m *Parts) First(name string) (string, bool) {
	for i := range m.parts {
		if name != "" && m.parts[i].name == name {
			return string(m.parts[i].value), true
		}
	}
	return "", false
}

// Has reports whether a part is named name.
func (m *Parts) Has(name string) bool {
	_, ok := m.First(name)
	return ok
}

// Delete removes every part named name, reporting whether there was one.
func (m *Parts) Delete(name string) bool {
	kept := m.parts[:0]
	for _, p := range m.parts {
		if name == "" || p.name != name {
			kept = append(kept, p)
		}
	}
	removed := len(kept) < len(m.parts)
	m.parts = kept
	return removed
}

// Set gives field name the value value, as lua-multipart's set_simple:
// the first part of that name becomes a simple field part (its other
// headers, a filename, dropped) and the others stay; with no such part,
// one is added last. It reports false, changing nothing, when value holds
// the delimiter or name a line break.
func (m *Parts) Set(name, value string) bool {
	if strings.Contains(value, "\r\n--"+m.boundary) || strings.ContainsAny(name, "\r\n") {
		return false
	}
	var raw bytes.Buffer
	raw.WriteString("--" + m.boundary + "\r\n")
	raw.WriteString(`Content-Disposition: form-data; name="` + quoteEscaper.Replace(name) + "\"\r\n\r\n")
	raw.WriteString(value)
	b := raw.Bytes()
	p := part{raw: b, name: name, value: b[len(b)-len(value):]}
	for i := range m.parts {
		if m.parts[i].name == name {
			m.parts[i] = p
			return true
		}
	}
	m.parts = append(m.parts, p)
	return true
}

// Bytes encodes the body: the preamble, each part as it arrived (or as
// Set made it), the close delimiter and the epilogue.
func (m *Parts) Bytes() []byte {
	n := len(m.head) + len(m.tail)
	for _, p := range m.parts {
		n += len(p.raw) + 2
	}
	out := make([]byte, 0, n)
	out = append(out, m.head...)
	for _, p := range m.parts {
		out = append(out, p.raw...)
		out = append(out, "\r\n"...)
	}
	return append(out, m.tail...)
}
