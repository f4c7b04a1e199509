package plugin

import (
	"net/textproto"

	"github.com/skyport-gw/skyport/dataplane/exchange"
)

// ResponseViewer is a ViewHeaderFilter that reads the response's fields
// as well as changing them (through ResponseView), or that is also a
// BodyFilter, and so decides per instance whether its response phases
// run on the view: ResponseOnView reports that they do — it never
// wants the body, and reads no field the view lacks (ViewReadable) and
// changes none it may not (ViewWritable). response-transformer without
// json operations is one.
type ResponseViewer interface {
	ViewHeaderFilter
	ResponseOnView() bool
}

// UpstreamFields is the upstream response's fields as a
// ViewHeaderFilter reads them through ResponseView: Len and At as
// exchange.Header's, names in any case; a field the proxy drops (a
// hop-by-hop one, one a Connection field names) has an empty name.
type UpstreamFields interface {
	Len() int
	At(i int) (name, value []byte)
}

// SetUpstreamFields makes f the upstream's fields ResponseView reads,
// for the header filters run next (Set.HeaderView); f is read until
// they return.
func (pc *Context) SetUpstreamFields(f UpstreamFields) { pc.upFields = f }

// ViewReadable reports whether ResponseView reads the response field
// name (canonical) as relay's map has it when the header filters run:
// every field but those the proxy adds itself before them (Via, Server,
// the latency fields), which the view does not hold yet.
func ViewReadable(name string) bool {
	switch name {
	case "Via", "Server", "X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency":
		return false
	}
	return ViewWritable(name)
}

// ViewWritable reports whether a ViewHeaderFilter may change the
// response field name (canonical): none that frames the body or the
// connection.
func ViewWritable(name string) bool {
	switch name {
	case "Content-Length", "Transfer-Encoding", "Trailer", "Connection", "Proxy-Connection", "Keep-Alive",
		"Proxy-Authenticate", "Proxy-Authorization", "Te", "Upgrade":
		return false
	}
	return true
}

// ResponseView is Fields of the response a ViewHeaderFilter changes, on
// the view: reads see the upstream's fields (SetUpstreamFields) with the
// changes made so far, as the map would hold them; writes are
// SetResponseField, AddResponseField and DelResponseField. A name that
// is in canonical form is used as it is; another is canonicalized (a
// string per call).
type ResponseView struct{ pc *Context }

var _ Fields = ResponseView{}

// ResponseView is pc's response as a ViewHeaderFilter reads and changes
// it.
func (pc *Context) ResponseView() ResponseView { return ResponseView{pc} }

// Get implements Fields.
func (v ResponseView) Get(name string) string {
	s, _ := v.first(textproto.CanonicalMIMEHeaderKey(name))
	return s
}

// Has implements Fields.
func (v ResponseView) Has(name string) bool {
	_, ok := v.first(textproto.CanonicalMIMEHeaderKey(name))
	return ok
}

// first is the first value of the response's fields key and whether
// there is one: a set field's; else, the name not deleted, the
// upstream's; else the first one added.
func (v ResponseView) first(key string) (string, bool) {
	replaced := false
	for _, f := range v.pc.respFields {
		if f.Name != key {
			continue
		}
		switch {
		case f.Deleted():
			replaced = true
		case !f.Added():
			return f.String(), true
		case replaced:
			return f.String(), true
		default:
			if i := v.upIndex(key, 0); i >= 0 {
				_, value := v.pc.upFields.At(i)
				return string(value), true
			}
			return f.String(), true
		}
	}
	if replaced {
		return "", false
	}
	if i := v.upIndex(key, 0); i >= 0 {
		_, value := v.pc.upFields.At(i)
		return string(value), true
	}
	return "", false
}

// upIndex is the position of the first upstream field key from i on, -1
// for none.
func (v ResponseView) upIndex(key string, i int) int {
	u := v.pc.upFields
	if u == nil {
		return -1
	}
	for ; i < u.Len(); i++ {
		if name, _ := u.At(i); len(name) > 0 && exchange.FieldNameIs(name, key) {
			return i
		}
	}
	return -1
}

// Values implements Fields: the set field's value or, the name neither
// set nor deleted, the upstream's, then the added ones.
func (v ResponseView) Values(name string) []string {
	key := textproto.CanonicalMIMEHeaderKey(name)
	var out []string
	replaced := false
	for _, f := range v.pc.respFields {
		if f.Name == key && !f.Added() {
			replaced = true
			if !f.Deleted() {
				out = append(out, f.String())
			}
		}
	}
	if !replaced {
		for i := v.upIndex(key, 0); i >= 0; i = v.upIndex(key, i+1) {
			_, value := v.pc.upFields.At(i)
			out = append(out, string(value))
		}
	}
	for _, f := range v.pc.respFields {
		if f.Name == key && f.Added() {
			out = append(out, f.String())
		}
	}
	return out
}

// Set implements Fields: SetResponseField.
func (v ResponseView) Set(name, value string) { v.pc.SetResponseField(name, value) }

// Add implements Fields: AddResponseField.
func (v ResponseView) Add(name, value string) { v.pc.AddResponseField(name, value) }

// Del implements Fields: DelResponseField.
func (v ResponseView) Del(name string) { v.pc.DelResponseField(name) }
