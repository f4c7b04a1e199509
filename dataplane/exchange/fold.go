package exchange

// FieldNameIs reports whether the field name b is name in any ASCII case
// (field names are tokens: ASCII only), for a walk of a Header's fields
// with Len and At that reads no closure.
func FieldNameIs(b []byte, name string) bool {
	if len(b) != len(name) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], name[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
