package router

import "slices"

// bucket holds the entries that share one host key.
type bucket struct {
	// top is the best entry filed, nil when none: a search that has a
	// better match skips the bucket.
	top      *entry
	paths    node   // prefix entries by prefix, regex entries by literal prefix
	regex    []slot // regex entries without a literal prefix, best first
	pathless []slot // entries without paths, best first
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
		if len(e.hosts) == 0 {
			r.any.add(e, 0)
			continue
		}
		for _, h := range e.hosts {
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
			b.paths.insert(lit, s)
		}
	case len(e.prefixes) > 0:
		for _, p := range e.prefixes {
			b.paths.insert(p, s)
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

// hit is a tree node whose key is a prefix of the path, and that key's
// length.
type hit struct {
	n     *node
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
			out = append(out, hit{n: n, depth: depth})
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
