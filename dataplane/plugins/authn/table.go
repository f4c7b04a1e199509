package authn

import (
	"hash/maphash"
	"math/bits"
)

// Keyed is a Table's value: it names its own key (a credential's API key
// or username), so the table keeps no copy of the key beside it. A
// value's key must not change while the table holds it (the credentials
// of a configuration are read-only: model.Config).
type Keyed interface {
	Key() string
}

// Table maps strings (API keys, usernames) to values, as a Go map does,
// in about a third of its memory: the values in an array sized exactly,
// each naming its key (Keyed: the credential's own field), and an
// open-addressing index of uint32 slots into it (linear probing, at most
// 3/4 full, sized for the keys rather than to a power of two). A slot holds the value's position and, in the bits the
// position leaves free, the top bits of the key's hash, so a probe that
// meets another key rarely reads that key. A data plane holds one per
// authentication plugin instance, with an entry per credential: hundreds
// of thousands of them, where a map[string]Identity costs about 94 bytes
// an entry and a Table of two-word values about 26 (BENCHMARKS.md). It
// is built once (Put), then only read (Get), from any number of
// goroutines.
type Table[V Keyed] struct {
	seed  maphash.Seed
	index []uint32 // slots
	shift uint     // bits.Len(len(index)): a slot's low shift bits are position+1, 0 when empty
	vals  []V
}

// NewTable returns an empty table sized for n keys; it grows past them.
func NewTable[V Keyed](n int) *Table[V] {
	t := &Table[V]{seed: maphash.MakeSeed(), vals: make([]V, 0, n)}
	t.setIndex(indexLen(n))
	return t
}

// indexLen is the index size for n keys: n at most 3/4 of it.
func indexLen(n int) int {
	return max(8, n+n/3+1)
}

// setIndex makes an empty index of size slots.
func (t *Table[V]) setIndex(size int) {
	t.index = make([]uint32, size)
	t.shift = uint(bits.Len(uint(size)))
}

// slotOf returns the first slot to probe for hash h (its low half mapped
// onto the index by a multiplication, not a mask) and the tag a slot of h
// holds above its position: the hash's top bits the position leaves.
func (t *Table[V]) slotOf(h uint64) (int, uint32) {
	i := int(uint64(uint32(h)) * uint64(len(t.index)) >> 32)
	if t.shift >= 32 {
		return i, 0
	}
	return i, uint32(h>>(32+t.shift)) << t.shift
}

// Put sets v under its key; a key put again keeps its position and takes
// the later value, as a map assignment does.
func (t *Table[V]) Put(v V) {
	key := v.Key()
	h := maphash.String(t.seed, key)
	slot, tag, found := t.find(key, h)
	if found {
		t.vals[t.pos(slot)] = v
		return
	}
	t.vals = append(t.vals, v)
	t.index[slot] = tag | uint32(len(t.vals))
	if len(t.vals)*4 > len(t.index)*3 {
		t.grow()
	}
}

// Get returns key's value and whether the table holds key.
func (t *Table[V]) Get(key string) (V, bool) {
	if slot, _, found := t.find(key, maphash.String(t.seed, key)); found {
		return t.vals[t.pos(slot)], true
	}
	var zero V
	return zero, false
}

// Len is the number of keys held.
func (t *Table[V]) Len() int { return len(t.vals) }

// pos is the position in vals slot i holds.
func (t *Table[V]) pos(i int) int {
	return int(t.index[i]&(1<<t.shift-1)) - 1
}

// find returns key's slot in the index and true, or the empty slot where
// it would go and false; and the tag of h.
func (t *Table[V]) find(key string, h uint64) (int, uint32, bool) {
	low := uint32(1)<<t.shift - 1
	i, tag := t.slotOf(h)
	for ; ; i = t.next(i) {
		s := t.index[i]
		if s == 0 {
			return i, tag, false
		}
		if s&^low == tag && t.vals[s&low-1].Key() == key {
			return i, tag, true
		}
	}
}

// next is the slot probed after i.
func (t *Table[V]) next(i int) int {
	if i++; i == len(t.index) {
		return 0
	}
	return i
}

// grow doubles the index and files every value again.
func (t *Table[V]) grow() {
	t.setIndex(2 * len(t.index))
	for p, v := range t.vals {
		i, tag := t.slotOf(maphash.String(t.seed, v.Key()))
		for t.index[i] != 0 {
			i = t.next(i)
		}
		t.index[i] = tag | uint32(p+1)
	}
}
