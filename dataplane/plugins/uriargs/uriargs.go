// Package uriargs reads query strings as Kong's plugins see them
// (kong.request.get_query, nginx's get_uri_args): decoded names, a bare
// name read as a flag, a repeated name as several values; and removes a
// parameter as kong.service.request.clear_query_arg does.
package uriargs

import (
	"strings"
	"unicode/utf8"
)

// MaxArgs is how many arguments kong.request.get_query reads (its
// max_args default, nginx's get_uri_args's): the rest are left out.
const MaxArgs = 100

// Arg is one decoded name=value of a query string; Flag is true for a
// bare name (no "="), which nginx's get_uri_args reads as true, not as a
// string.
type Arg struct {
	Name, Value string
	Flag        bool
}

// Args is a query string's parameters, in order.
type Args []Arg

// Parse splits a raw query as application/x-www-form-urlencoded: "&"
// separates, the first "=" splits, "+" is a space and %XX a byte (an
// invalid escape stays as it is).
func Parse(raw string) Args {
	return AppendParse(nil, raw)
}

// AppendParse is Parse appending to dst (a caller's buffer).
func AppendParse(dst Args, raw string) Args {
	out := dst
	for field := range strings.SplitSeq(raw, "&") {
		if field == "" {
			continue
		}
		name, value, eq := strings.Cut(field, "=")
		out = append(out, Arg{Name: formDecode(name), Value: formDecode(value), Flag: !eq})
	}
	return out
}

// Lookup returns the last value of name, how many times it appears, and
// whether its one appearance is a bare flag.
func (as Args) Lookup(name string) (value string, n int, flag bool) {
	for _, a := range as {
		if a.Name == name {
			n++
			value, flag = a.Value, a.Flag
		}
	}
	return value, n, n == 1 && flag
}

// Has reports whether name appears.
func (as Args) Has(name string) bool {
	_, n, _ := as.Lookup(name)
	return n > 0
}

// Values returns the arguments as Kong's get_uri_args gives them to a
// plugin that encodes them: a string, true for a flag, a list for a
// repeated name; an argument with an empty name is left out, as
// get_uri_args discards it, and so is any after the first MaxArgs.
func (as Args) Values() map[string]any {
	as = as[:min(len(as), MaxArgs)]
	out := make(map[string]any, len(as))
	for _, a := range as {
		if a.Name == "" {
			continue
		}
		var v any = a.Value
		if a.Flag {
			v = true
		}
		switch cur := out[a.Name].(type) {
		case nil:
			out[a.Name] = v
		case []any:
			out[a.Name] = append(cur, v)
		default:
			out[a.Name] = []any{cur, v}
		}
	}
	return out
}

func formDecode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Without removes every parameter named name, keeping the others in
// their order and serializing them as the WHATWG URL standard does (what
// kong.service.request.clear_query_arg does through resty.ada.search).
func (as Args) Without(name string) string {
	var b strings.Builder
	for _, a := range as {
		if a.Name == name {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		formEncode(&b, a.Name)
		b.WriteByte('=')
		formEncode(&b, a.Value)
	}
	return b.String()
}

// formEncode is the application/x-www-form-urlencoded byte serializer:
// alphanumerics and *-._ as they are, a space as "+", every other byte
// (invalid UTF-8 first replaced) as %XX.
func formEncode(b *strings.Builder, s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
