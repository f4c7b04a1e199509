// Package peek looks at a connection without reading from it: whether
// the peer closed it, or sent bytes nobody asked for yet, while it sat
// idle in a pool.
package peek

// State is what a look at a connection found.
type State uint8

const (
	// Unknown: the connection cannot be looked at (no file descriptor,
	// or a platform without a non-blocking peek).
	Unknown State = iota
	// Empty: open, nothing to read.
	Empty
	// Pending: bytes are waiting to be read.
	Pending
	// Closed: the peer closed or reset the connection.
	Closed
)
