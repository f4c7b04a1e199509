package router

// slab hands out values from shared arrays: a router's hundred thousand
// entries in a few hundred allocations, next to one another rather than
// among the compile's garbage, which would keep partly used spans. A nil
// slab allocates each value on its own, as Update does for the few it
// adds.
type slab[T any] struct{ buf []T }

// slabSize is how many values one array of a slab holds.
const slabSize = 1024

// put returns a pointer to a copy of v.
func (s *slab[T]) put(v T) *T {
	if s == nil {
		return &v
	}
	if len(s.buf) == cap(s.buf) {
		s.buf = make([]T, 0, slabSize)
	}
	s.buf = append(s.buf, v)
	return &s.buf[len(s.buf)-1]
}
