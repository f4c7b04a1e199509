package router

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFewPathsAgreeWithTree: a bucket's list of a few path slots reports
// the same hits (slots in order, prefix length, shortest first) as the
// tree it becomes once full, over random prefixes put once or again
// and random paths, and a bucket past maxFew moves them to the tree
// without losing any.
func TestFewPathsAgreeWithTree(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"/", "/a", "/ab", "/b", "/a/", "/abc", "x", ""}
	randPath := func() string {
		p := ""
		for range rng.IntN(4) {
			p += pieces[rng.IntN(len(pieces))]
		}
		return p
	}
	entries := make([]entry, 64)
	for i := range entries {
		entries[i].prefixLen = int32(i) // each its own, for require.Equal
	}
	for round := range 500 {
		var few fewPaths
		tree := &node{}
		b := &bucket{}
		n := 1 + rng.IntN(maxFew)
		if round%5 == 0 {
			n = maxFew + 1 + rng.IntN(maxFew)
		}
		for i := range n {
			prefix := randPath()
			s := slot{e: &entries[i], port: rng.IntN(2)}
			if i < maxFew {
				few.insert(prefix, s)
			}
			tree.insert(prefix, s)
			b.insertPath(prefix, s)
		}
		if n > maxFew {
			require.NotNil(t, b.paths, "a bucket past maxFew has its tree")
		}
		for range 20 {
			path := randPath()
			want := b.lookupPaths(path, nil)
			require.Equal(t, tree.lookup(path, nil), want, "bucket and tree, path %q", path)
			if n <= maxFew {
				require.Nil(t, b.paths)
				require.Equal(t, tree.lookup(path, nil), few.lookup(path, nil), "list and tree, path %q", path)
			}
		}
	}
}
