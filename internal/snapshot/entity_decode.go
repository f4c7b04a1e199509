package snapshot

import (
	"strconv"
	"unicode/utf8"

	"github.com/skyport-gw/skyport/internal/model"
)

// fastDecoders decode the entities of the kinds a big configuration is
// mostly made of (consumers and their key-auth credentials) without
// encoding/json's reflection: what the encoder writes for them, and
// nothing else. Anything they do not expect — a key they do not know or
// met twice, a key in another case, an escape in a string, a number that
// is not a plain integer — makes them give up (ok false), and the value
// is decoded by encoding/json, whose answer (the entity or the error) is
// the decoder's. They never return an entity encoding/json would not.
var fastDecoders = map[string]func(raw []byte) (model.Entity, bool){
	"consumers":           decodeConsumer,
	"keyauth_credentials": decodeKeyAuth,
	"services":            decodeService,
	"routes":              decodeRoute,
}

// object is a cursor over one JSON object's bytes.
type object struct {
	b    []byte
	i    int
	seen uint32 // the fields met, by the caller's bit
}

func (o *object) space() {
	for o.i < len(o.b) {
		switch o.b[o.i] {
		case ' ', '\t', '\n', '\r':
			o.i++
		default:
			return
		}
	}
}

// byte consumes c, past whitespace.
func (o *object) byte(c byte) bool {
	o.space()
	if o.i < len(o.b) && o.b[o.i] == c {
		o.i++
		return true
	}
	return false
}

// open consumes the object's '{' and reports whether it is empty
// (consuming its '}' then).
func (o *object) open() (empty, ok bool) {
	if !o.byte('{') {
		return false, false
	}
	return o.byte('}'), true
}

// key reads the next key and its colon; once, by field bit.
func (o *object) key() ([]byte, bool) {
	k, ok := o.rawString()
	if !ok || !o.byte(':') {
		return nil, false
	}
	return k, true
}

// once marks field bit as met, false when it was.
func (o *object) once(bit uint32) bool {
	if o.seen&bit != 0 {
		return false
	}
	o.seen |= bit
	return true
}

// next consumes the ',' or the '}' after a member: more reports a ','.
func (o *object) next() (more, ok bool) {
	o.space()
	if o.i >= len(o.b) {
		return false, false
	}
	switch o.b[o.i] {
	case ',':
		o.i++
		return true, true
	case '}':
		o.i++
		return false, true
	}
	return false, false
}

// done reports whether the object's bytes end here.
func (o *object) done() bool {
	o.space()
	return o.i == len(o.b)
}

// rawString reads a string without escapes, of valid UTF-8 and no
// control characters, and returns its bytes.
func (o *object) rawString() ([]byte, bool) {
	o.space()
	if o.i >= len(o.b) || o.b[o.i] != '"' {
		return nil, false
	}
	start := o.i + 1
	ascii := true
	for j := start; j < len(o.b); j++ {
		switch c := o.b[j]; {
		case c == '"':
			s := o.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			o.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

func (o *object) str() (string, bool) {
	s, ok := o.rawString()
	return string(s), ok
}

// null consumes the literal null.
func (o *object) null() bool {
	o.space()
	if len(o.b)-o.i >= 4 && string(o.b[o.i:o.i+4]) == "null" {
		o.i += 4
		return true
	}
	return false
}

// strPtr reads a string or null.
func (o *object) strPtr() (*string, bool) {
	if o.null() {
		return nil, true
	}
	s, ok := o.str()
	return &s, ok
}

// int reads an integer of at most 18 digits, as encoding/json reads it
// into an int64 (which has room for any of them).
func (o *object) int() (int64, bool) {
	o.space()
	start := o.i
	if o.i < len(o.b) && o.b[o.i] == '-' {
		o.i++
	}
	digits := o.i
	for o.i < len(o.b) && o.b[o.i] >= '0' && o.b[o.i] <= '9' {
		o.i++
	}
	n := o.i - digits
	if n == 0 || n > 18 || (n > 1 && o.b[digits] == '0') {
		return 0, false
	}
	if o.i < len(o.b) {
		switch o.b[o.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(o.b[start:o.i]), 10, 64)
	return v, err == nil
}

// boolean reads true or false.
func (o *object) boolean() (bool, bool) {
	o.space()
	switch {
	case len(o.b)-o.i >= 4 && string(o.b[o.i:o.i+4]) == "true":
		o.i += 4
		return true, true
	case len(o.b)-o.i >= 5 && string(o.b[o.i:o.i+5]) == "false":
		o.i += 5
		return false, true
	}
	return false, false
}

// intPtr reads an integer or null into an *int.
func (o *object) intPtr() (*int, bool) {
	if o.null() {
		return nil, true
	}
	n, ok := o.integer()
	if !ok {
		return nil, false
	}
	return &n, true
}

// integer reads an integer into an int.
func (o *object) integer() (int, bool) {
	n, ok := o.int()
	return int(n), ok
}

// tags reads a list of strings or null: null leaves it nil, [] is an
// empty list that is not nil, as encoding/json decodes them.
func (o *object) tags() ([]string, bool) {
	if o.null() {
		return nil, true
	}
	if !o.byte('[') {
		return nil, false
	}
	out := []string{}
	if o.byte(']') {
		return out, true
	}
	for {
		s, ok := o.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if o.byte(']') {
			return out, true
		}
		if !o.byte(',') {
			return nil, false
		}
	}
}

// ref reads {"id": "…"} or null.
func (o *object) ref() (*model.Ref, bool) {
	if o.null() {
		return nil, true
	}
	r := &model.Ref{}
	empty, ok := o.open()
	if !ok {
		return nil, false
	}
	if empty {
		return r, true
	}
	k, ok := o.key()
	if !ok || string(k) != "id" {
		return nil, false
	}
	if r.ID, ok = o.str(); !ok {
		return nil, false
	}
	if !o.byte('}') {
		return nil, false
	}
	return r, true
}

// base reads one of Base's fields when k names it; known reports
// whether it did.
func (o *object) base(b *model.Base, k []byte) (known, ok bool) {
	switch string(k) {
	case "id":
		if !o.once(1 << 0) {
			return true, false
		}
		b.ID, ok = o.str()
	case "created_at":
		if !o.once(1 << 1) {
			return true, false
		}
		b.CreatedAt, ok = o.int()
	case "updated_at":
		if !o.once(1 << 2) {
			return true, false
		}
		b.UpdatedAt, ok = o.int()
	case "tags":
		if !o.once(1 << 3) {
			return true, false
		}
		b.Tags, ok = o.tags()
	default:
		return false, true
	}
	return true, ok
}

// members reads the object's members with field, which reads the value
// of key k (its bits from 1<<8 on) and reports whether it could.
func (o *object) members(field func(k []byte) bool) bool {
	empty, ok := o.open()
	if !ok {
		return false
	}
	for more := !empty; more; {
		k, ok := o.key()
		if !ok || !field(k) {
			return false
		}
		if more, ok = o.next(); !ok {
			return false
		}
	}
	return o.done()
}

func decodeConsumer(raw []byte) (model.Entity, bool) {
	c := &model.Consumer{}
	o := object{b: raw}
	ok := o.members(func(k []byte) bool {
		if known, ok := o.base(&c.Base, k); known {
			return ok
		}
		var ok bool
		switch string(k) {
		case "username":
			ok = o.once(1<<8) && set(&c.Username, o.strPtr)
		case "custom_id":
			ok = o.once(1<<9) && set(&c.CustomID, o.strPtr)
		}
		return ok
	})
	return c, ok
}

func decodeKeyAuth(raw []byte) (model.Entity, bool) {
	c := &model.KeyAuth{}
	o := object{b: raw}
	ok := o.members(func(k []byte) bool {
		if known, ok := o.base(&c.Base, k); known {
			return ok
		}
		var ok bool
		switch string(k) {
		case "key":
			ok = o.once(1<<8) && set(&c.Key, o.str)
		case "ttl":
			ok = o.once(1<<9) && set(&c.TTL, o.intPtr)
		case "consumer":
			ok = o.once(1<<10) && set(&c.Consumer, o.ref)
		}
		return ok
	})
	return c, ok
}

func decodeService(raw []byte) (model.Entity, bool) {
	c := &model.Service{}
	o := object{b: raw}
	ok := o.members(func(k []byte) bool {
		if known, ok := o.base(&c.Base, k); known {
			return ok
		}
		var ok bool
		switch string(k) {
		case "name":
			ok = o.once(1<<8) && set(&c.Name, o.strPtr)
		case "retries":
			ok = o.once(1<<9) && set(&c.Retries, o.integer)
		case "protocol":
			ok = o.once(1<<10) && set(&c.Protocol, o.str)
		case "host":
			ok = o.once(1<<11) && set(&c.Host, o.str)
		case "port":
			ok = o.once(1<<12) && set(&c.Port, o.integer)
		case "path":
			ok = o.once(1<<13) && set(&c.Path, o.strPtr)
		case "connect_timeout":
			ok = o.once(1<<14) && set(&c.ConnectTimeout, o.integer)
		case "write_timeout":
			ok = o.once(1<<15) && set(&c.WriteTimeout, o.integer)
		case "read_timeout":
			ok = o.once(1<<16) && set(&c.ReadTimeout, o.integer)
		case "tls_verify":
			ok = o.once(1<<17) && o.null() // a value: encoding/json's
		case "tls_verify_depth":
			ok = o.once(1<<18) && o.null()
		case "ca_certificates":
			ok = o.once(1<<19) && set(&c.CACertificates, o.tags)
		case "client_certificate":
			ok = o.once(1<<20) && set(&c.ClientCertificate, o.ref)
		case "enabled":
			ok = o.once(1<<21) && set(&c.Enabled, o.boolean)
		}
		return ok
	})
	return c, ok
}

func decodeRoute(raw []byte) (model.Entity, bool) {
	c := &model.Route{}
	o := object{b: raw}
	ok := o.members(func(k []byte) bool {
		if known, ok := o.base(&c.Base, k); known {
			return ok
		}
		var ok bool
		switch string(k) {
		case "name":
			ok = o.once(1<<8) && set(&c.Name, o.strPtr)
		case "protocols":
			ok = o.once(1<<9) && set(&c.Protocols, o.tags)
		case "methods":
			ok = o.once(1<<10) && set(&c.Methods, o.tags)
		case "hosts":
			ok = o.once(1<<11) && set(&c.Hosts, o.tags)
		case "paths":
			ok = o.once(1<<12) && set(&c.Paths, o.tags)
		case "snis":
			ok = o.once(1<<13) && set(&c.SNIs, o.tags)
		// headers, sources, destinations: null only; a value is
		// encoding/json's.
		case "headers":
			ok = o.once(1<<14) && o.null()
		case "sources":
			ok = o.once(1<<15) && o.null()
		case "destinations":
			ok = o.once(1<<16) && o.null()
		case "strip_path":
			ok = o.once(1<<17) && set(&c.StripPath, o.boolean)
		case "preserve_host":
			ok = o.once(1<<18) && set(&c.PreserveHost, o.boolean)
		case "regex_priority":
			ok = o.once(1<<19) && set(&c.RegexPriority, o.integer)
		case "path_handling":
			ok = o.once(1<<20) && set(&c.PathHandling, o.str)
		case "https_redirect_status_code":
			ok = o.once(1<<21) && set(&c.HTTPSRedirectStatusCode, o.integer)
		case "request_buffering":
			ok = o.once(1<<22) && set(&c.RequestBuffering, o.boolean)
		case "response_buffering":
			ok = o.once(1<<23) && set(&c.ResponseBuffering, o.boolean)
		case "service":
			ok = o.once(1<<24) && set(&c.Service, o.ref)
		}
		return ok
	})
	return c, ok
}

// set stores read's value in dst and reports whether read could read it.
func set[T any](dst *T, read func() (T, bool)) bool {
	v, ok := read()
	*dst = v
	return ok
}
