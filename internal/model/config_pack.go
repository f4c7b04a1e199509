package model

import (
	"hash/maphash"
	"reflect"
	"slices"
	"strings"
	"unsafe"
)

// Pack moves c's entities into a compact layout, changing no value: the
// entities of each list into one array, their strings' bytes into shared
// blocks, their []string fields' elements and their *string fields'
// targets into shared arrays, equal []string fields onto one array, and
// every *Ref onto the id of the entity it names (a Ref is laid out as the
// string it holds: the ref is the entity's own id field, not a copy). A
// decoded configuration of a million entities is a few million small
// allocations, each rounded up to a size class and each a pointer the
// collector follows; packed, it is a few thousand large ones and takes
// about a third less memory. A data plane
// packs what it decodes once, before it compiles it and keeps it as the
// base of the next delta.
//
// The lists keep their order and the entities their values. A packed
// configuration is read-only, as every configuration a snapshot or a
// delta yields is (entities are replaced, never written through): a
// packed entity's field is changed by giving it a new value, not by
// writing into what it points at, since a ref is its entity's id field and
// equal lists are one array (an append copies: each list's capacity is
// its length). The entities' pointers change: Pack is for a configuration
// nothing else holds yet.
func (c *Config) Pack() {
	p := packer{ids: make(map[string]*string, c.Len())}
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		p.list(v.Field(i))
	}
	p.resolve()
}

// resolve points every Ref met before the entity it names at that
// entity's id; a ref to an entity the configuration lacks keeps its copy.
func (p *packer) resolve() {
	for _, r := range p.later {
		if id, ok := p.ids[(*r.at).ID]; ok {
			*r.at = refTo(id)
		}
	}
	p.later = nil
}

// refTo returns the ref whose target is the id field of a packed entity:
// Ref is a struct of one string, so it has the string's layout.
func refTo(id *string) *Ref { return (*Ref)(unsafe.Pointer(id)) }

// Ref must stay the size of a string (one string field) for refTo: a
// constant index out of range otherwise.
var _ = [1]struct{}{}[unsafe.Sizeof(Ref{})-unsafe.Sizeof("")]

// pendingRef is a packed entity's ref field whose entity was not packed
// yet: at holds a copy of the ref until resolve.
type pendingRef struct{ at **Ref }

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
	return &Packer{p: packer{ids: map[string]*string{}}, chunks: map[reflect.Type]reflect.Value{}}
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
	k.p.ids[packed.Meta().ID] = &packed.Meta().ID
	k.cfg.Add(packed)
}

// Config points the refs met before the entity they name at its id, as
// Pack does, and returns the configuration; the Packer is done.
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
	refArr []Ref           // copies of the refs met before their entity
	later  []pendingRef
	ids    map[string]*string // each packed entity's id field
	small  map[string]string  // short strings (protocols, methods), shared
	lists  map[uint64][]string
	seed   maphash.Seed
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
			p.ids[b.ID] = &b.ID
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
			p.ref(v.Addr().Interface().(**Ref))
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
// of strings, its capacity its length; the copy of an equal list packed
// before (a route's protocols, the hosts of a service's routes) when
// there is one.
func (p *packer) strSlice(ss []string) []string {
	if len(ss) > packBlock/4 {
		for i, s := range ss {
			ss[i] = p.str(s)
		}
		return slices.Clip(ss)
	}
	if len(ss) > maxSharedList {
		return p.copyStrs(ss)
	}
	if p.lists == nil {
		p.lists, p.seed = map[uint64][]string{}, maphash.MakeSeed()
	}
	var h maphash.Hash
	h.SetSeed(p.seed)
	for _, s := range ss {
		h.WriteString(s)
		h.WriteByte(0)
	}
	sum := h.Sum64()
	if prev, ok := p.lists[sum]; ok {
		if slices.Equal(prev, ss) {
			return prev
		}
		return p.copyStrs(ss) // another list of the same hash: not shared
	}
	out := p.copyStrs(ss)
	if len(p.lists) < maxLists {
		p.lists[sum] = out
	}
	return out
}

// maxSharedList is the longest list strSlice looks up among the lists
// packed before, and maxLists how many it remembers: lists of a few
// elements repeat, and the index is the pack's, dropped after it.
const (
	maxSharedList = 16
	maxLists      = 1 << 17
)

// copyStrs returns a copy of ss, its strings packed, in the current block
// of strings, its capacity its length.
func (p *packer) copyStrs(ss []string) []string {
	if cap(p.strs)-len(p.strs) < len(ss) {
		p.strs = make([]string, 0, packBlock)
	}
	start := len(p.strs)
	for _, s := range ss {
		p.strs = append(p.strs, p.str(s))
	}
	return p.strs[start:len(p.strs):len(p.strs)]
}

// ref points the ref field at at the id field of the packed entity it
// names; a ref met before its entity is copied into the current block of
// refs until resolve.
func (p *packer) ref(at **Ref) {
	if id, ok := p.ids[(*at).ID]; ok {
		*at = refTo(id)
		return
	}
	if len(p.refArr) == cap(p.refArr) {
		p.refArr = make([]Ref, 0, packBlock)
	}
	p.refArr = append(p.refArr, Ref{ID: p.str((*at).ID)})
	*at = &p.refArr[len(p.refArr)-1]
	p.later = append(p.later, pendingRef{at: at})
}
