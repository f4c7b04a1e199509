package plugin

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The media types of Kong's error bodies (kong/tools/http.lua, MIME_TYPES).
const (
	contentTypeJSON  = "application/json; charset=utf-8"
	contentTypeHTML  = "text/html; charset=utf-8"
	contentTypeXML   = "application/xml; charset=utf-8"
	contentTypePlain = "text/plain; charset=utf-8"
	typeGRPC         = "application/grpc"
)

// mimeTypes maps what an Accept entry names to the Content-Type answered;
// gRPC's is empty (no body).
var mimeTypes = map[string]string{
	typeGRPC:           "",
	"text/html":        contentTypeHTML,
	"application/json": contentTypeJSON,
	"text/plain":       contentTypePlain,
	"application/xml":  contentTypeXML,
	"application":      contentTypeJSON,
	"text":             contentTypePlain,
}

// acceptEntry is Kong's pattern for one Accept entry: a media range and
// its parameters, q captured (kong/tools/http.lua, get_response_type,
// matched anchored and case-insensitive).
var acceptEntry = regexp.MustCompile(`(?i)^((?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*)/(?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*))` +
	`(?:\s*;\s*q=(1(?:\.0{0,3}|)|0(?:\.\d{0,3}|))|\s*;\s*[a-z0-9][a-z0-9\-!#$&^_+.]+(?:=[^;]*|))*`)

// ResponseType picks the Content-Type of an error body from the Accept
// header's values, as kong/tools/http.lua's get_response_type does: the
// entry of highest quality (the first among equals) that names a known
// type; JSON when none does.
func ResponseType(accept ...string) string {
	ct := contentTypeJSON
	if len(accept) == 0 {
		return ct
	}
	best := 0.0
	for _, v := range accept {
		for entry := range strings.SplitSeq(v, ",") {
			m := acceptEntry.FindStringSubmatch(strings.TrimSpace(entry))
			if m == nil {
				continue
			}
			q := 1.0
			if m[2] != "" {
				if f, err := strconv.ParseFloat(m[2], 64); err == nil {
					q = f
				}
			}
			if q > best {
				best = q
				ct = mimeType(m[1])
			}
		}
	}
	return ct
}

// mimeType is get_mime_type: "type/*" names the type's default, "*/*"
// and unknown types JSON. The lookup is case-sensitive, as Kong's.
func mimeType(mediaRange string) string {
	typ, sub, ok := strings.Cut(mediaRange, "/")
	if !ok {
		return contentTypeJSON
	}
	key := mediaRange
	if sub == "*" {
		if typ == "*" {
			return contentTypeJSON
		}
		key = typ
	}
	if mt, ok := mimeTypes[key]; ok {
		return mt
	}
	return contentTypeJSON
}

// errorBody fills Kong's template for mt (kong/tools/http.lua,
// ERROR_TEMPLATES) with msg and the request id; false when mt has none.
// Unlike Kong, msg is escaped for the format (a configured message cannot
// break the document); ordinary messages come out byte for byte as Kong's.
func errorBody(mt, msg, requestID string) ([]byte, bool) {
	var b []byte
	switch mt {
	case contentTypeJSON, "application/json":
		b = append(b, "{\n  \"message\":\""...)
		b = appendJSONText(b, msg)
		b = append(b, "\",\n  \"request_id\":\""...)
		b = appendJSONText(b, requestID)
		b = append(b, "\"\n}"...)
	case contentTypePlain, "text/plain":
		b = append(b, msg...)
		b = append(b, "\nrequest_id: "...)
		b = append(b, requestID...)
		b = append(b, '\n')
	case contentTypeHTML, "text/html":
		b = append(b, "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Error</title>\n"+
			"  </head>\n  <body>\n    <h1>Error</h1>\n    <p>"...)
		b = append(b, html.EscapeString(msg)...)
		b = append(b, ".</p>\n    <p>request_id: "...)
		b = append(b, html.EscapeString(requestID)...)
		b = append(b, "</p>\n  </body>\n</html>\n"...)
	case contentTypeXML, "application/xml":
		b = append(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>"...)
		b = append(b, html.EscapeString(msg)...)
		b = append(b, "</message>\n  <requestid>"...)
		b = append(b, html.EscapeString(requestID)...)
		b = append(b, "</requestid>\n</error>\n"...)
	case "", typeGRPC:
		return []byte{}, true
	default:
		return nil, false
	}
	return b, true
}

// appendJSONText appends s escaped for a JSON string: quotes, backslashes
// and control characters; "/" and non-ASCII text as they are.
func appendJSONText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = appendControl(b, c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendCJSON appends s as lua-cjson encodes a string (Kong's
// kong.response.exit bodies): quoted, with "/" escaped as "\/", control
// characters and DEL escaped, other bytes as they are.
func appendCJSON(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '/':
			b = append(b, '\\', c)
		case c < 0x20:
			b = appendControl(b, c)
		case c == 0x7f:
			b = append(b, `\u007f`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func appendControl(b []byte, c byte) []byte {
	switch c {
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}

// EncodeJSONString returns s as lua-cjson encodes it, for plugins that
// build kong.response.exit bodies of their own.
func EncodeJSONString(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return string(appendCJSON(nil, s))
}
