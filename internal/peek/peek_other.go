//go:build !unix

package peek

import "net"

// Conn cannot peek here: a dead connection shows on the next write or
// read.
func Conn(net.Conn) State { return Unknown }
