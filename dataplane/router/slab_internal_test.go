package router

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSlabPut: every value put keeps its own address and value across
// the slab's arrays, and a nil slab allocates each on its own.
func TestSlabPut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		s    *slab[int]
	}{
		{"slab", &slab[int]{}},
		{"nil slab", nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			n := 2*slabSize + 3
			ptrs := make([]*int, n)
			for i := range n {
				ptrs[i] = tc.s.put(i)
			}
			seen := map[*int]bool{}
			for i, p := range ptrs {
				require.Equal(t, i, *p)
				require.False(t, seen[p], "address handed out twice")
				seen[p] = true
			}
		})
	}
}
