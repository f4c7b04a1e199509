package authn

import (
	"hash/maphash"
	"math/bits"
)

// Table maps strings (API keys, usernames) to values, as a Go map does,
// in about half its memory: the keys and values in two arrays sized
// exactly, and an open-addressing index of uint32 positions into them
// (linear probing, at most 3/4 full). A data plane holds one per
// authentication plugin instance, with an entry per credential: hundreds
// of thousands of them, where a map[string]Identity costs about 94 bytes
// an entry and a Table of two-word values about 42 (BENCHMARKS.md). It
// is built once (Put), then only read (Get), from any number of
// goroutines; positions are uint32, far beyond any credential count.
type Table[V any] struct {
	seed  maphash.Seed
	index []uint32 // position+1 in keys and vals, 0 for an empty slot; len is a power of two
	keys  []string
	vals  []V
}

// NewTable returns an empty table sized for n keys; it grows past them.
func NewTable[V any](n int) *Table[V] {
	t := &Table[V]{seed: maphash.MakeSeed(), keys: make([]string, 0, n), vals: make([]V, 0, n)}
	t.index = make([]uint32, indexLen(n))
	return t
}

// indexLen is the index size for n keys: a power of two, n at most 3/4 of it.
func indexLen(n int) int {
	need := max(8, n+n/3+1)
	return 1 << bits.Len(uint(need-1))
}

// Put sets key's value; a key put again keeps its position and takes the
// later value, as a map assignment does.
func (t *Table[V]) Put(key string, v V) {
	slot, found := t.find(key)
	if found {
		t.vals[t.index[slot]-1] = v
		return
	}
	t.keys = append(t.keys, key)
	t.vals = append(t.vals, v)
	t.index[slot] = uint32(len(t.keys))
	if len(t.keys)*4 > len(t.index)*3 {
		t.grow()
	}
}

// Get returns key's value and whether the table holds key.
func (t *Table[V]) Get(key string) (V, bool) {
	if slot, found := t.find(key); found {
		return t.vals[t.index[slot]-1], true
	}
	var zero V
	return zero, false
}

// Len is the number of keys held.
func (t *Table[V]) Len() int { return len(t.keys) }

// find returns key's slot in the index and true, or the empty slot where
// it would go and false.
func (t *Table[V]) find(key string) (int, bool) {
	mask := len(t.index) - 1
	for i := int(maphash.String(t.seed, key)) & mask; ; i = (i + 1) & mask {
		p := t.index[i]
		if p == 0 {
			return i, false
		}
		if t.keys[p-1] == key {
			return i, true
		}
	}
}

// grow doubles the index and files every key again.
func (t *Table[V]) grow() {
	t.index = make([]uint32, 2*len(t.index))
	mask := len(t.index) - 1
	for p, key := range t.keys {
		i := int(maphash.String(t.seed, key)) & mask
		for t.index[i] != 0 {
			i = (i + 1) & mask
		}
		t.index[i] = uint32(p + 1)
	}
}
