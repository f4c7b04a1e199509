package router

import (
	"slices"
	"strings"
)

// bucket holds the entries that share one host key.
type bucket struct {
	// top is the best entry filed, nil when none: a search that has a
	// better match skips the bucket.
	top *entry
	// Prefix entries by prefix, regex entries by literal prefix: in few
	// while there are at most maxFew, in the tree paths after. Most hosts
	// of a big configuration have a handful of paths, for which a tree
	// of a few nodes took 400 bytes.
	few      fewPaths
	paths    *node  // nil until few overflows
	regex    []slot // regex entries without a literal prefix, best first
	pathless []slot // entries without paths, best first
}

// maxFew is how many path slots a bucket keeps in a list before it files
// them in a tree.
const maxFew = 8

// fewPaths is a bucket's path slots as two lists, slots[i] filed under
// prefixes[i], longest prefix first; the slots of one prefix are next to
// one another, best first.
type fewPaths struct {
	prefixes []string
	slots    []slot
}

// insert files s under prefix: after the slots of longer prefixes and of
// the same one.
func (f *fewPaths) insert(prefix string, s slot) {
	i := 0
	for i < len(f.prefixes) && len(f.prefixes[i]) > len(prefix) {
		i++
	}
	same := -1 // after the last slot of prefix, else after those as long
	for ; i < len(f.prefixes) && len(f.prefixes[i]) == len(prefix); i++ {
		if f.prefixes[i] == prefix {
			same = i + 1
		}
	}
	if same >= 0 {
		i = same
	}
	f.prefixes = insertExact(f.prefixes, i, prefix)
	f.slots = insertExact(f.slots, i, s)
}

// insertExact returns list with v inserted at i, in a new array of
// exactly the length needed: a bucket's lists stay as long as they are
// (three prefixes take 48 bytes each, not the 64 of a doubled slice),
// and the few they hold make the copies cheap.
func insertExact[T any](list []T, i int, v T) []T {
	out := make([]T, len(list)+1)
	copy(out, list[:i])
	out[i] = v
	copy(out[i+1:], list[i:])
	return out
}

// lookup appends to out the runs of slots whose prefix is a prefix of
// path, shortest first, as node.lookup does. An empty prefix is not
// one: the tree files it at its root, which lookup never reports.
func (f *fewPaths) lookup(path string, out []hit) []hit {
	start := len(out)
	for i := 0; i < len(f.prefixes); {
		p := f.prefixes[i]
		j := i + 1
		for j < len(f.prefixes) && f.prefixes[j] == p {
			j++
		}
		if p != "" && strings.HasPrefix(path, p) {
			out = append(out, hit{slots: f.slots[i:j:j], depth: len(p)})
		}
		i = j
	}
	slices.Reverse(out[start:])
	return out
}

// insertPath files s under prefix, moving the bucket's list to a tree
// when it is full.
func (b *bucket) insertPath(prefix string, s slot) {
	if b.paths == nil && len(b.few.slots) < maxFew {
		b.few.insert(prefix, s)
		return
	}
	if b.paths == nil {
		// Every prefix's slots are inserted in their order, so each
		// node's stay best first.
		b.paths = &node{}
		for i, p := range b.few.prefixes {
			b.paths.insert(p, b.few.slots[i])
		}
		b.few = fewPaths{}
	}
	b.paths.insert(prefix, s)
}

// lookupPaths appends to out the path hits of path in b, shortest first.
func (b *bucket) lookupPaths(path string, out []hit) []hit {
	if b.paths != nil {
		return b.paths.lookup(path, out)
	}
	return b.few.lookup(path, out)
}

// slot is an entry filed in a bucket, with the port its host requires.
type slot struct {
	e    *entry
	port int // 0 matches any port
}

// index files entries (sorted best first) into host buckets.
func index(entries []*entry) *Router {
	r := &Router{exact: map[string]*bucket{}, any: &bucket{}, size: len(entries)}
	for _, e := range entries {
		if len(e.route.Hosts) == 0 {
			r.any.add(e, 0)
			continue
		}
		for h := range e.hostList {
			r.hostBucket(h).add(e, h.port)
		}
	}
	r.suffix.retop()
	r.prefix.retop()
	return r
}

func (r *Router) hostBucket(h hostKey) *bucket {
	switch h.kind {
	case hostSuffix:
		return r.suffix.bucket(h.key)
	case hostPrefix:
		return r.prefix.bucket(h.key)
	}
	b := r.exact[h.key]
	if b == nil {
		b = &bucket{}
		r.exact[h.key] = b
	}
	return b
}

// add files e. Entries arrive best first, so every list (tree nodes'
// included) stays sorted best first.
func (b *bucket) add(e *entry, port int) {
	if b.top == nil || e.outranks(b.top) {
		b.top = e
	}
	s := slot{e: e, port: port}
	switch {
	case len(e.regexes()) > 0:
		if slices.Contains(e.literals(), "") {
			b.regex = append(b.regex, s)
			return
		}
		for _, lit := range e.literals() {
			b.insertPath(lit, s)
		}
	case e.prefixed:
		for p := range e.prefixList {
			b.insertPath(p, s)
		}
	default:
		b.pathless = append(b.pathless, s)
	}
}

// node is a radix tree node over prefix paths. Its key is the
// concatenation of labels from the root.
type node struct {
	label    string
	slots    []slot
	first    []byte // first byte of each child's label, sorted
	children []*node
}

func (n *node) insert(key string, s slot) {
	for key != "" {
		i, ok := n.find(key[0])
		if !ok {
			c := &node{label: key, slots: []slot{s}}
			n.first = slices.Insert(n.first, i, key[0])
			n.children = slices.Insert(n.children, i, c)
			return
		}
		c := n.children[i]
		l := commonPrefix(c.label, key)
		if l < len(c.label) {
			split := &node{label: c.label[l:], slots: c.slots, first: c.first, children: c.children}
			*c = node{label: c.label[:l], first: []byte{split.label[0]}, children: []*node{split}}
		}
		n, key = c, key[l:]
	}
	n.slots = append(n.slots, s)
}

// find returns the index of the child whose label starts with b, or where
// it would be inserted.
func (n *node) find(b byte) (int, bool) {
	lo, hi := 0, len(n.first)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.first[m] < b {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(n.first) && n.first[lo] == b
}

// hit is the slots of a prefix of the path (a tree node's, whose key it
// is), and that prefix's length.
type hit struct {
	slots []slot
	depth int
}

// lookup appends to out the nodes holding entries whose prefix is a
// prefix of path, shortest first.
func (n *node) lookup(path string, out []hit) []hit {
	depth := 0
	for depth < len(path) {
		i, ok := n.find(path[depth])
		if !ok {
			break
		}
		c := n.children[i]
		if len(path)-depth < len(c.label) || path[depth:depth+len(c.label)] != c.label {
			break
		}
		n, depth = c, depth+len(c.label)
		if len(n.slots) > 0 {
			out = append(out, hit{slots: n.slots, depth: depth})
		}
	}
	return out
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
