package plugin

import (
	"net/http"
	"net/textproto"

	"github.com/skyport-gw/skyport/dataplane/exchange"
)

// Fields is a request's header fields as an access phase reads and
// changes them, on either path: HeaderFields, the adapted request's map,
// or ViewFields, the view's. A plugin writes its phase once, generic over
// Fields (a type parameter: neither is boxed in an interface per
// request), as key-auth does with its own request interface.
type Fields interface {
	// Get is the first value of the field name (any case), "" for none;
	// Has reports whether there is one, Values all of them in order.
	Get(name string) string
	Has(name string) bool
	Values(name string) []string
	// Set replaces the fields named name by one, Add appends one, Del
	// removes them.
	Set(name, value string)
	Add(name, value string)
	Del(name string)
}

var (
	_ Fields = HeaderFields(nil)
	_ Fields = ViewFields{}
)

// HeaderFields is Fields of the adapted request's map.
type HeaderFields http.Header

func (h HeaderFields) Get(name string) string { return http.Header(h).Get(name) }

func (h HeaderFields) Has(name string) bool {
	return len(h[textproto.CanonicalMIMEHeaderKey(name)]) > 0
}

func (h HeaderFields) Values(name string) []string { return http.Header(h).Values(name) }
func (h HeaderFields) Set(name, value string)      { http.Header(h).Set(name, value) }
func (h HeaderFields) Add(name, value string)      { http.Header(h).Add(name, value) }
func (h HeaderFields) Del(name string)             { http.Header(h).Del(name) }

// ViewFields is Fields of the view's fields H. Values are copied into
// strings when read (the view's bytes live only as long as the request).
type ViewFields struct{ H exchange.Header }

// index is the position of the first field name, -1 for none, read
// with Len and At (no closure to allocate, nothing copied).
func (v ViewFields) index(name string) int {
	for i := range v.H.Len() {
		if f, _ := v.H.At(i); exchange.FieldNameIs(f, name) {
			return i
		}
	}
	return -1
}

// get is the first value of the field name and whether there is one.
func (v ViewFields) get(name string) (string, bool) {
	i := v.index(name)
	if i < 0 {
		return "", false
	}
	_, value := v.H.At(i)
	return string(value), true
}

func (v ViewFields) Get(name string) string { s, _ := v.get(name); return s }
func (v ViewFields) Has(name string) bool   { return v.index(name) >= 0 }

func (v ViewFields) Values(name string) []string {
	var out []string
	for i := range v.H.Len() {
		if f, value := v.H.At(i); exchange.FieldNameIs(f, name) {
			out = append(out, string(value))
		}
	}
	return out
}

func (v ViewFields) Set(name, value string) { v.H.Set(name, value) }
func (v ViewFields) Add(name, value string) { v.H.Add(name, value) }
func (v ViewFields) Del(name string)        { v.H.Del(name) }
