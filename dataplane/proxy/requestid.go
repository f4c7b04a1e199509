package proxy

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
)

// headerRequestID carries the request id upstream and downstream (Kong's
// default headers and headers_upstream, kong/templates/kong_defaults.lua).
const headerRequestID = "X-Kong-Request-Id"

// newRequestID returns 32 lowercase hex digits, the shape of nginx's
// $kong_request_id (16 random bytes). The generator is the runtime's
// ChaCha8, seeded from the system: ids do not repeat and cannot be
// predicted from one another, and no lock is taken.
func newRequestID() string {
	var b [32]byte
	makeRequestID(&b)
	return string(b[:])
}

// makeRequestID writes a new request id (newRequestID's) into b.
func makeRequestID(b *[32]byte) {
	const hex = "0123456789abcdef"
	for half := range 2 {
		v := rand.Uint64()
		for i := range 16 {
			b[half*16+i] = hex[v&0xf]
			v >>= 4
		}
	}
}

// conn counts the requests of one client connection, for nginx's
// $connection and $connection_requests (correlation-id's tracker).
type conn struct {
	serial   uint64
	requests atomic.Uint64
}

type connKey struct{}

// connContext is the HTTP server's ConnContext: it numbers the
// connection.
func (s *Server) connContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &conn{serial: s.conns.Add(1)})
}

// countRequest returns the connection's serial number and how many
// requests it carried, r included; zeros on a server without
// connContext.
func countRequest(r *http.Request) (serial, requests uint64) {
	c, ok := r.Context().Value(connKey{}).(*conn)
	if !ok {
		return 0, 0
	}
	return c.serial, c.requests.Add(1)
}
