package router

import "strings"

// reserved marks the characters whose percent-encoding Normalize keeps
// (RFC 3986 gen-delims and sub-delims, and "%").
var reserved = func() (t [256]bool) {
	for _, c := range []byte("!*'();:@&=+$,/?%#[]") {
		t[c] = true
	}
	return t
}()

// Normalize normalizes a request path as Kong does before routing:
// percent-encoded characters are decoded unless they are reserved (whose
// triplets are upper-cased instead), dot segments are resolved (RFC 3986
// section 5.2.4) and duplicate slashes are merged. It allocates only when
// the path changes.
func Normalize(path string) string {
	if path == "" || path == "/" {
		return path
	}
	if strings.IndexByte(path, '%') >= 0 {
		path = decodePercent(path)
	}
	if !needsDotRemoval(path) {
		return path
	}
	return removeDotSegments(path)
}

func decodePercent(p string) string {
	var b []byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' || i+2 >= len(p) {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		hi, ok1 := unhex(p[i+1])
		lo, ok2 := unhex(p[i+2])
		if !ok1 || !ok2 {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(p)), p[:i]...)
		}
		if v := hi<<4 | lo; reserved[v] {
			b = append(b, '%', upperHex(p[i+1]), upperHex(p[i+2]))
		} else {
			b = append(b, v)
		}
		i += 2
	}
	if b == nil {
		return p
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// needsDotRemoval reports whether p has an empty, "." or ".." segment, or
// does not start with a slash.
func needsDotRemoval(p string) bool {
	if p[0] != '/' {
		return true
	}
	for i := 1; i <= len(p); i++ {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			j = len(p) - i
		}
		seg := p[i : i+j]
		if seg == "." || seg == ".." || (seg == "" && i+j < len(p)) {
			return true
		}
		i += j
	}
	return false
}

// removeDotSegments resolves "." and ".." segments and merges slashes.
func removeDotSegments(uri string) string {
	out := make([]byte, 0, len(uri))
	var starts []int // where each output segment begins
	pop := func() {
		if n := len(starts); n > 0 {
			out = out[:starts[n-1]]
			starts = starts[:n-1]
		}
	}
	for uri != "" {
		switch {
		case uri == "/.":
			uri = "/"
		case uri == "/..":
			uri = "/"
			pop()
		case uri == "." || uri == "..":
			uri = ""
		case strings.HasPrefix(uri, "../"):
			uri = uri[3:]
		case strings.HasPrefix(uri, "./"):
			uri = uri[2:]
		case strings.HasPrefix(uri, "/./"):
			uri = uri[2:]
		case strings.HasPrefix(uri, "/../"):
			uri = uri[3:]
			pop()
		case strings.HasPrefix(uri, "//"):
			uri = uri[1:]
		default:
			n := len(uri)
			if j := strings.IndexByte(uri[1:], '/'); j >= 0 {
				n = j + 1
			}
			starts = append(starts, len(out))
			out = append(out, uri[:n]...)
			uri = uri[n:]
		}
	}
	return string(out)
}
