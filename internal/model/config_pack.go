package model

import (
	"reflect"
	"strings"
)

// Pack moves c's entities into a compact layout, changing no value: the
// entities of each list into one array, their strings' bytes into shared
// blocks, their []string fields' elements and their *string and *Ref
// fields' targets into shared arrays, and every Ref's id onto the id
// string of the entity it names. A decoded configuration of a million
// entities is a few million small allocations, each rounded up to a size
// class and each a pointer the collector follows; packed, it is a few
// thousand large ones and takes about a third less memory. A data plane
// packs what it decodes once, before it compiles it and keeps it as the
// base of the next delta.
//
// The lists keep their order and the entities their values; a packed
// entity can be changed as any other (the shared arrays hand each field
// its own cap-limited region, so an append copies). The entities'
// pointers change: Pack is for a configuration nothing else holds yet.
func (c *Config) Pack() {
	p := packer{ids: make(map[string]string, c.Len())}
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		p.list(v.Field(i))
	}
	p.resolve()
}

// resolve points every Ref at the id of the entity it names: refs name
// entities of other lists, packed or not yet when their list came first,
// so this waits until every list is done.
func (p *packer) resolve() {
	for _, r := range p.refs {
		if id, ok := p.ids[r.ID]; ok {
			r.ID = id
		}
	}
	p.refs = nil
}

// Packer packs entities one at a time into the configuration it builds,
// as Pack would have packed them there: for a stream decoder, which then
// never holds the decoded entities and their packed copies together.
type Packer struct {
	p      packer
	cfg    Config
	chunks map[reflect.Type]reflect.Value // the current array of each entity type
}

// NewPacker returns a Packer with an empty configuration.
func NewPacker() *Packer {
	return &Packer{p: packer{ids: map[string]string{}}, chunks: map[reflect.Type]reflect.Value{}}
}

// Add packs e, a pointer to an entity nothing else holds, and appends
// the packed copy to the configuration's list of its kind. Lists keep the
// order entities are added in.
func (k *Packer) Add(e Entity) {
	v := reflect.ValueOf(e)
	if v.IsNil() {
		return
	}
	t := v.Type().Elem()
	arr, ok := k.chunks[t]
	if !ok {
		arr = reflect.MakeSlice(reflect.SliceOf(t), 0, chunkCap(t, 0))
	} else if arr.Len() == arr.Cap() {
		arr = reflect.MakeSlice(reflect.SliceOf(t), 0, chunkCap(t, arr.Cap()))
	}
	arr = reflect.Append(arr, v.Elem())
	k.chunks[t] = arr
	dst := arr.Index(arr.Len() - 1)
	k.p.value(dst)
	packed := dst.Addr().Interface().(Entity)
	k.p.ids[packed.Meta().ID] = packed.Meta().ID
	k.cfg.Add(packed)
}

// Config points every Ref at the id of the entity it names, as Pack
// does, and returns the configuration; the Packer is done.
func (k *Packer) Config() *Config {
	k.p.resolve()
	return &k.cfg
}

// packBlock is the size of the shared blocks of bytes, strings and
// refs, in elements; a block is kept whole while any field uses it.
const packBlock = 4096

// chunkBytes is the size a Packer's arrays of entities grow to: above
// the runtime's largest size class (32 KiB), so an array is rounded up to
// whole pages, not to a size class (256 key-auth credentials of 88 bytes
// took a 24 KiB class for 22 KiB).
const chunkBytes = 64 << 10

// chunkCap is the capacity of the next array of entities of type t after
// one of prev: twice the last, from 16 (a small configuration's few
// entities of a kind take little), up to chunkBytes.
func chunkCap(t reflect.Type, prev int) int {
	most := max(1, chunkBytes/int(t.Size()))
	return min(most, max(16, 2*prev))
}

// packer carries a Pack: the current blocks and the ids seen.
type packer struct {
	text   strings.Builder // the current block of string bytes
	strs   []string        // *string targets and []string elements
	refs   []*Ref          // every Ref moved, to point at the ids
	refArr []Ref
	ids    map[string]string // each entity's id, packed
	small  map[string]string // short strings (protocols, methods), shared
}

// list packs one list of entities ([]*T): the entities copied into one
// array of T, the list pointed at the copies.
func (p *packer) list(l reflect.Value) {
	n := l.Len()
	if n == 0 || l.Type().Elem().Kind() != reflect.Pointer {
		return
	}
	arr := reflect.MakeSlice(reflect.SliceOf(l.Type().Elem().Elem()), n, n)
	for i := range n {
		e := l.Index(i)
		if e.IsNil() {
			continue
		}
		dst := arr.Index(i)
		dst.Set(e.Elem())
		p.value(dst)
		l.Index(i).Set(dst.Addr())
		if m, ok := dst.Addr().Interface().(Entity); ok {
			b := m.Meta()
			p.ids[b.ID] = b.ID
		}
	}
}

var (
	refType = reflect.TypeFor[Ref]()
	strType = reflect.TypeFor[string]()
)

// value packs the fields of v (settable) in place.
func (p *packer) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(p.str(v.String()))
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				p.value(f)
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		switch v.Type().Elem() {
		case strType:
			v.Set(reflect.ValueOf(p.strPtr(p.str(v.Elem().String()))))
		case refType:
			v.Set(reflect.ValueOf(p.ref(v.Interface().(*Ref))))
		}
	case reflect.Slice:
		if v.Type().Elem() == strType && v.Len() > 0 {
			v.Set(reflect.ValueOf(p.strSlice(v.Interface().([]string))))
		}
	}
}

// str returns s with its bytes in the current block; short strings are
// shared by value.
func (p *packer) str(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) <= 8:
		if p.small == nil {
			p.small = map[string]string{}
		}
		if v, ok := p.small[s]; ok {
			return v
		}
		p.small[s] = s
		return s
	case len(s) > packBlock/4:
		return s // large enough on its own
	}
	if p.text.Cap()-p.text.Len() < len(s) {
		p.text = strings.Builder{}
		p.text.Grow(packBlock * 16)
	}
	start := p.text.Len()
	p.text.WriteString(s)
	// The builder never moves bytes it holds while they fit its
	// capacity, so the substring shares the block.
	return p.text.String()[start:]
}

// strPtr returns a pointer to s in the current block of strings.
func (p *packer) strPtr(s string) *string {
	if len(p.strs) == cap(p.strs) {
		p.strs = make([]string, 0, packBlock)
	}
	p.strs = append(p.strs, s)
	return &p.strs[len(p.strs)-1]
}

// strSlice returns a copy of ss, its strings packed, in the current block
// of strings, its capacity its length.
func (p *packer) strSlice(ss []string) []string {
	if len(ss) > packBlock/4 {
		for i, s := range ss {
			ss[i] = p.str(s)
		}
		return ss
	}
	if cap(p.strs)-len(p.strs) < len(ss) {
		p.strs = make([]string, 0, packBlock)
	}
	start := len(p.strs)
	for _, s := range ss {
		p.strs = append(p.strs, p.str(s))
	}
	return p.strs[start:len(p.strs):len(p.strs)]
}

// ref returns a copy of r in the current block of refs; Pack points its
// id at the entity's once every list is packed.
func (p *packer) ref(r *Ref) *Ref {
	if len(p.refArr) == cap(p.refArr) {
		p.refArr = make([]Ref, 0, packBlock)
	}
	p.refArr = append(p.refArr, *r)
	out := &p.refArr[len(p.refArr)-1]
	p.refs = append(p.refs, out)
	return out
}
