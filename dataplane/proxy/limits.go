package proxy

import (
	"net/http"
	"time"
)

// Limits bound what clients can make the proxy hold: memory for headers
// and bodies, connections left idle or fed slowly. nginx's directives,
// which Kong runs with, are the reference; a zero field takes the default
// it names (nginx's, as Kong 3.9.3 leaves them: kong/templates/nginx_kong.lua
// sets none of them, and kong/templates/kong_defaults.lua sets
// client_max_body_size 0 and client_body_buffer_size 8k).
type Limits struct {
	// HeaderBufferSize bounds the request line and each header field
	// (the size of nginx's large_client_header_buffers, 8 KiB): a longer
	// request line is answered 414, a longer field 400 ("Request header or
	// cookie too large", nginx's 494 as Kong answers it).
	HeaderBufferSize int
	// HeaderBuffers times HeaderBufferSize bounds the whole header block
	// (the number of nginx's large_client_header_buffers, 4): the
	// connection stops being read there and is answered with a 4xx and
	// closed, so a client never makes the proxy hold more than the block.
	HeaderBuffers int
	// HeaderTimeout bounds how long a client may take to send a request's
	// headers (client_header_timeout, 60s); the connection is closed.
	HeaderTimeout time.Duration
	// BodyTimeout bounds the wait for each read of a request body
	// (client_body_timeout, 60s, between two successive reads): 408.
	BodyTimeout time.Duration
	// KeepaliveTimeout closes a client connection idle for this long
	// between requests (keepalive_timeout, 75s).
	KeepaliveTimeout time.Duration
	// MaxBodySize refuses request bodies larger than this with 413
	// (client_max_body_size); 0, Kong's default, sets no limit.
	MaxBodySize int64
	// BodyBufferSize is how much of a request body is buffered in memory
	// when its route buffers requests (client_body_buffer_size, 8 KiB);
	// the rest goes to a temporary file in TempDir.
	BodyBufferSize int
	// ResponseBufferSize is how much of a response is buffered in memory
	// when its route buffers responses (nginx's proxy_buffers, 8 × 4 KiB);
	// more goes to a temporary file in TempDir.
	ResponseBufferSize int
	// ResponseTempFileSize bounds the temporary file of one buffered
	// response (proxy_max_temp_file_size, 1 GiB); past it the response
	// is read from the upstream as fast as the client takes it.
	ResponseTempFileSize int64
	// FilterBodySize bounds the upstream response body a body-filtering
	// plugin without a limit of its own (response-transformer) reads into
	// memory (16 MiB); a larger body answers 502 rather than passing
	// through unfiltered, as the filter may exist to remove something.
	FilterBodySize int64
	// TempDir holds the temporary files of buffered bodies, removed as soon
	// as they are created (they live while open); "" is the system's.
	TempDir string
	// H2MaxConcurrentStreams bounds the streams an HTTP/2 client may have
	// open on one connection (http2_max_concurrent_streams, 128); more are
	// refused with REFUSED_STREAM.
	H2MaxConcurrentStreams int
}

// The defaults of Limits.
const (
	DefaultHeaderBufferSize       = 8 << 10
	DefaultHeaderBuffers          = 4
	DefaultHeaderTimeout          = 60 * time.Second
	DefaultBodyTimeout            = 60 * time.Second
	DefaultKeepaliveTimeout       = 75 * time.Second
	DefaultBodyBufferSize         = 8 << 10
	DefaultResponseBufferSize     = 32 << 10
	DefaultResponseTempFileSize   = 1 << 30
	DefaultFilterBodySize         = 16 << 20
	DefaultH2MaxConcurrentStreams = 128
)

// HTTP/2's fixed bounds: frames are read up to the protocol's default
// size (16 KiB, nginx's too), and the header compression table a client
// can make the proxy keep is HPACK's default 4 KiB.
const (
	h2MaxReadFrameSize = 16 << 10
	h2HeaderTableSize  = 4 << 10
)

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&l.HeaderBufferSize, DefaultHeaderBufferSize)
	set(&l.HeaderBuffers, DefaultHeaderBuffers)
	set(&l.BodyBufferSize, DefaultBodyBufferSize)
	set(&l.ResponseBufferSize, DefaultResponseBufferSize)
	set(&l.H2MaxConcurrentStreams, DefaultH2MaxConcurrentStreams)
	setD(&l.HeaderTimeout, DefaultHeaderTimeout)
	setD(&l.BodyTimeout, DefaultBodyTimeout)
	setD(&l.KeepaliveTimeout, DefaultKeepaliveTimeout)
	if l.FilterBodySize <= 0 {
		l.FilterBodySize = DefaultFilterBodySize
	}
	if l.ResponseTempFileSize <= 0 {
		l.ResponseTempFileSize = DefaultResponseTempFileSize
	}
	if l.MaxBodySize < 0 {
		l.MaxBodySize = 0
	}
	return l
}

// headerBlock is the most a request's head may take.
func (l *Limits) headerBlock() int { return l.HeaderBuffers * l.HeaderBufferSize }

// netHTTPSlack is what net/http reads past Server.MaxHeaderBytes before it
// refuses a request head.
const netHTTPSlack = 4096

// Kong's answers to oversized heads (kong/error_handlers.lua).
const (
	msgHeaderTooLarge = "Request header or cookie too large"
	msgURITooLong     = "URI too long"
)

// headerCheck refuses HTTP/2 requests whose request line or a header
// field is longer than HeaderBufferSize, as nginx does when one does not
// fit a large_client_header_buffers buffer (h1's parser does it for
// HTTP/1.x). A header block past the bound is answered by net/http
// itself, with 431, where nginx answers 400.
type headerCheck struct {
	next http.Handler
	s    *Server
}

// ServeHTTP implements http.Handler.
func (c *headerCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	size := c.s.limits.HeaderBufferSize
	// "METHOD URI HTTP/1.1" and its CRLF.
	if len(r.Method)+len(r.RequestURI)+len(r.Proto)+4 > size {
		c.s.refuseHead(w, r, newRequestID(), http.StatusRequestURITooLong, msgURITooLong)
		return
	}
	// net/http keeps Host out of r.Header.
	if len("Host")+len(r.Host)+4 > size {
		c.s.refuseHead(w, r, newRequestID(), http.StatusBadRequest, msgHeaderTooLarge)
		return
	}
	for k, vv := range r.Header {
		for _, v := range vv {
			// "Name: value" and its CRLF.
			if len(k)+len(v)+4 > size {
				c.s.refuseHead(w, r, newRequestID(), http.StatusBadRequest, msgHeaderTooLarge)
				return
			}
		}
	}
	c.next.ServeHTTP(w, r)
}
