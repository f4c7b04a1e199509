package h1

import "time"

// Limits bound what clients can make the server hold: memory for heads
// and bodies, connections left idle or fed slowly. They are nginx's
// directives, with the defaults Kong 3.9.3 runs with
// (kong/templates/nginx_kong.lua sets none of them), and the same fields
// as the proxy's Limits; a zero field takes its default.
type Limits struct {
	// HeaderBufferSize bounds the request line and each header field
	// (the size of large_client_header_buffers, 8 KiB): a longer request
	// line is answered 414, a longer field 400 "Request header or cookie
	// too large" (nginx's 494 as Kong answers it).
	HeaderBufferSize int
	// HeaderBuffers times HeaderBufferSize bounds the whole head (the
	// number of large_client_header_buffers, 4): the connection is read no
	// further, answered 400 "Request header or cookie too large" and
	// closed.
	HeaderBuffers int
	// HeaderTimeout bounds how long a client may take to send a request's
	// head, from its first byte, and the TLS handshake; a new connection
	// also waits this long for its first request (client_header_timeout,
	// 60s). The connection is closed without an answer, as nginx does.
	HeaderTimeout time.Duration
	// BodyTimeout bounds each wait for request body bytes
	// (client_body_timeout, 60s): the read fails with ErrBodyTimeout (408).
	BodyTimeout time.Duration
	// KeepaliveTimeout closes a connection idle this long between
	// requests (keepalive_timeout, 75s).
	KeepaliveTimeout time.Duration
	// SendTimeout bounds each wait for the client to take response bytes
	// (send_timeout); 0 sets none, as the net/http server the proxy ran on.
	SendTimeout time.Duration
	// MaxBodySize refuses request bodies larger than this
	// (client_max_body_size): a larger Content-Length is answered 413
	// before the handler runs, a chunked body fails ErrBodyTooLarge when a
	// chunk announces more. 0, Kong's default, sets no limit.
	MaxBodySize int64
}

// The defaults of Limits.
const (
	DefaultHeaderBufferSize = 8 << 10
	DefaultHeaderBuffers    = 4
	DefaultHeaderTimeout    = 60 * time.Second
	DefaultBodyTimeout      = 60 * time.Second
	DefaultKeepaliveTimeout = 75 * time.Second
)

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	if l.HeaderBufferSize <= 0 {
		l.HeaderBufferSize = DefaultHeaderBufferSize
	}
	if l.HeaderBuffers <= 0 {
		l.HeaderBuffers = DefaultHeaderBuffers
	}
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = DefaultHeaderTimeout
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = DefaultBodyTimeout
	}
	if l.KeepaliveTimeout <= 0 {
		l.KeepaliveTimeout = DefaultKeepaliveTimeout
	}
	l.SendTimeout = max(l.SendTimeout, 0)
	l.MaxBodySize = max(l.MaxBodySize, 0)
	return l
}

// headBlock is the most a request's head may take.
func (l *Limits) headBlock() int { return l.HeaderBuffers * l.HeaderBufferSize }
