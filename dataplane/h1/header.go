package h1

// Header is an ordered list of header fields held as bytes: a request's
// fields are views into the connection's read buffer, valid until the
// handler returns; fields a handler sets are copied into the header's own
// arena. Lookups are case-insensitive linear scans: a request carries a
// handful of fields, and a scan of them costs less than building a map.
type Header struct {
	fields []field
	arena  []byte
	// added says a field was added by Add, AddBytes, Set or SetBytes,
	// which do not check it.
	added bool
}

type field struct {
	name, value []byte
}

// maxKeptFields bounds the fields a pooled header keeps room for between
// requests; a request with more gets a slice of its own.
const maxKeptFields = 64

// Reset empties h, keeping its storage.
func (h *Header) Reset() {
	if cap(h.fields) > maxKeptFields {
		h.fields = nil
	}
	clear(h.fields)
	h.fields = h.fields[:0]
	if cap(h.arena) > 16<<10 {
		h.arena = nil
	}
	h.arena = h.arena[:0]
	h.added = false
}

// Checked reports whether every field is one the request parser took,
// which it checked: the name a token, the value without control
// characters but HTAB and without white space around it. False once Add,
// AddBytes, Set or SetBytes added a field (until Reset); Del keeps it.
func (h *Header) Checked() bool { return !h.added }

// Len is the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// At returns the i-th field, in the order received or added.
func (h *Header) At(i int) (name, value []byte) {
	f := &h.fields[i]
	return f.name, f.value
}

// Get returns the value of the first field named name (any case), nil
// when there is none.
func (h *Header) Get(name string) []byte {
	if i := h.index(name, 0); i >= 0 {
		return h.fields[i].value
	}
	return nil
}

// Has reports whether a field named name is present.
func (h *Header) Has(name string) bool { return h.index(name, 0) >= 0 }

// Values calls fn with each value of the fields named name, in order,
// until fn returns false.
func (h *Header) Values(name string, fn func(value []byte) bool) {
	for i := h.index(name, 0); i >= 0; i = h.index(name, i+1) {
		if !fn(h.fields[i].value) {
			return
		}
	}
}

// Count is the number of fields named name.
func (h *Header) Count(name string) int {
	n := 0
	for i := h.index(name, 0); i >= 0; i = h.index(name, i+1) {
		n++
	}
	return n
}

// Add appends a field, copying name and value.
func (h *Header) Add(name, value string) {
	h.added = true
	h.fields = append(h.fields, field{h.copyString(name), h.copyString(value)})
}

// AddBytes appends a field, copying name and value.
func (h *Header) AddBytes(name, value []byte) {
	h.added = true
	h.fields = append(h.fields, field{h.copyBytes(name), h.copyBytes(value)})
}

// Set replaces every field named name by one with value.
func (h *Header) Set(name, value string) {
	h.Del(name)
	h.Add(name, value)
}

// SetBytes replaces every field named name by one with value.
func (h *Header) SetBytes(name, value []byte) {
	h.delBytes(name)
	h.AddBytes(name, value)
}

// Del removes every field named name.
func (h *Header) Del(name string) {
	out := h.fields[:0]
	for _, f := range h.fields {
		if !equalFold(f.name, name) {
			out = append(out, f)
		}
	}
	clear(h.fields[len(out):])
	h.fields = out
}

func (h *Header) delBytes(name []byte) {
	out := h.fields[:0]
	for _, f := range h.fields {
		if !equalFoldBytes(f.name, name) {
			out = append(out, f)
		}
	}
	clear(h.fields[len(out):])
	h.fields = out
}

// index is the position of the first field named name at or after from,
// -1 when there is none.
func (h *Header) index(name string, from int) int {
	for i := from; i < len(h.fields); i++ {
		if equalFold(h.fields[i].name, name) {
			return i
		}
	}
	return -1
}

// add appends a field that views bytes owned elsewhere (the read buffer).
func (h *Header) add(name, value []byte) {
	h.fields = append(h.fields, field{name, value})
}

// copyString copies s into the arena. When the arena grows, earlier
// fields keep the array they point into: it is released with them.
func (h *Header) copyString(s string) []byte {
	start := len(h.arena)
	h.arena = append(h.arena, s...)
	return h.arena[start:len(h.arena):len(h.arena)]
}

func (h *Header) copyBytes(b []byte) []byte {
	start := len(h.arena)
	h.arena = append(h.arena, b...)
	return h.arena[start:len(h.arena):len(h.arena)]
}

// equalFold reports whether b and s are equal under ASCII case folding.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != s[i] && lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasToken reports whether the comma-separated list v holds token (any
// case), as Connection, Expect and Upgrade values are read.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var el []byte
		if i := indexByte(v, ','); i >= 0 {
			el, v = v[:i], v[i+1:]
		} else {
			el, v = v, nil
		}
		if equalFold(trimOWS(el), token) {
			return true
		}
	}
	return false
}

// hasBoundedToken reports whether token (any case) stands in v between
// token boundaries (the value's ends, a space, a comma or a tab), as
// net/http finds 100-continue in an Expect value: "100-continue x" holds
// it, so that an expectation net/http accepts is not refused with 417.
func hasBoundedToken(v []byte, token string) bool {
	for sp := 0; sp+len(token) <= len(v); sp++ {
		if sp > 0 && !tokenBoundary(v[sp-1]) {
			continue
		}
		if end := sp + len(token); end < len(v) && !tokenBoundary(v[end]) {
			continue
		}
		if equalFold(v[sp:sp+len(token)], token) {
			return true
		}
	}
	return false
}

func tokenBoundary(c byte) bool { return c == ' ' || c == ',' || c == '\t' }

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// trimOWS trims spaces and tabs at both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
