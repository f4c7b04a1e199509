package tcplog

import (
	"net"

	"github.com/skyport-gw/skyport/internal/peek"
)

// peerClosed peeks at conn without blocking: end of stream or an error
// other than "nothing to read" means the connection is gone.
func peerClosed(conn net.Conn) bool { return peek.Conn(conn) == peek.Closed }
