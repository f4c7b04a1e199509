//go:build !unix

package tcplog

import "net"

// peerClosed cannot peek here: a dead connection shows on the write.
func peerClosed(net.Conn) bool { return false }
