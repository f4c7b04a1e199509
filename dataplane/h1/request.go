package h1

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
)

// Request is one request as received. Its byte slices are views into the
// connection's buffer: they are valid until the handler returns and must
// be copied to be kept. The server reuses a Request for the connection's
// next request.
type Request struct {
	method, target, path, query, host []byte
	// minor is the x of HTTP/1.x.
	minor  int
	header Header
	known  known
	// contentLength is the body's length, -1 when chunked.
	contentLength int64
	chunked       bool
	// close says the connection ends after this exchange.
	close          bool
	expectContinue bool
	upgrade        bool
	hostFromTarget bool
	body           body
	trailer        Header
	c              *conn
}

func (r *Request) reset() {
	r.header.Reset()
	r.trailer.Reset()
	c := r.c
	hdr, trl := r.header, r.trailer
	*r = Request{header: hdr, trailer: trl, c: c}
}

// Method is the request method, as sent ("GET").
func (r *Request) Method() []byte { return r.method }

// Target is the request-target as sent: "/p?q", an absolute URI, "*" or,
// for CONNECT, an authority.
func (r *Request) Target() []byte { return r.target }

// Path is the target's path, still percent-encoded (net/http's
// URL.EscapedPath of a raw request); "/" for an absolute-form target
// without one, empty for a CONNECT authority.
func (r *Request) Path() []byte { return r.path }

// Query is the target's query without the "?", nil when there is none.
func (r *Request) Query() []byte { return r.query }

// Host is the host the request is for: the authority of an absolute-form
// target, else the Host field (possibly with ":port"; empty on an
// HTTP/1.0 request without one).
func (r *Request) Host() []byte { return r.host }

// ProtoMinor is the x of HTTP/1.x (0 or 1; a later 1.x is served as 1.1).
func (r *Request) ProtoMinor() int { return r.minor }

// Proto is "HTTP/1.0" or "HTTP/1.1".
func (r *Request) Proto() string {
	if r.minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// Header is the request's fields, in the order received, Host included.
// A handler may change them (they then own copies of what it sets).
func (r *Request) Header() *Header { return &r.header }

// ContentLength is the body's length: 0 without a body, -1 when chunked.
func (r *Request) ContentLength() int64 { return r.contentLength }

// Chunked reports whether the body has the chunked transfer coding.
func (r *Request) Chunked() bool { return r.chunked }

// Close reports whether the connection ends after this exchange.
func (r *Request) Close() bool { return r.close }

// Upgrade reports whether the request asks for a protocol upgrade
// (Connection: upgrade and an Upgrade field), such as WebSocket's.
func (r *Request) Upgrade() bool { return r.upgrade }

// ExpectContinue reports whether the client waits for "100 Continue"
// before sending the body; the server sends it on the body's first Read.
func (r *Request) ExpectContinue() bool { return r.expectContinue }

// Continue sends "100 Continue" now when the client waits for it and the
// response has not begun, as the body's first Read would. A handler whose
// body is read in a goroutine other than the one writing the response
// calls it where the two are ordered: the Response is not safe for
// concurrent use, and that Read writes to the connection.
func (r *Request) Continue() {
	if r.expectContinue {
		r.c.sendContinue()
	}
}

// Body reads the request body, streamed from the connection: it returns
// io.EOF at the end, ErrBodyTooLarge, ErrBodyTimeout or ErrMalformedBody
// when the client gets it wrong. It is valid until the handler returns.
func (r *Request) Body() io.Reader { return &r.body }

// HasBody reports whether the request announced a body.
func (r *Request) HasBody() bool { return r.contentLength != 0 }

// Trailer is the chunked body's trailer fields, complete once Body
// returned io.EOF.
func (r *Request) Trailer() *Header { return &r.trailer }

// RemoteAddr is the client's address.
func (r *Request) RemoteAddr() net.Addr { return r.c.nc.RemoteAddr() }

// ClientAddr is the client's address and port; an IPv4 client of a
// dual-stack listener has its IPv4 address (unmapped).
func (r *Request) ClientAddr() netip.AddrPort { return r.c.remote }

// TLS is the connection's TLS state, nil on plain connections.
func (r *Request) TLS() *tls.ConnectionState { return r.c.tlsState }

// LocalPort is the port the connection was accepted on.
func (r *Request) LocalPort() int { return int(r.c.localPort) }

// Conn is the connection's number (Server.ConnID, 0 without it) and how
// many requests it carried, this one included: nginx's $connection and
// $connection_requests.
func (r *Request) Conn() (id, requests uint64) { return r.c.id, r.c.requests }

// LocalAddr is the address the connection was accepted on.
func (r *Request) LocalAddr() net.Addr { return r.c.nc.LocalAddr() }

// Context is the request's context: it is canceled when the handler
// returns, when the server closes, and when the client closes the
// connection while the request is in flight (cause ErrClientClosed; see
// watch). It is valid while the handler runs; the first call comes from
// the handler's goroutine (the proxy's adapter makes it first thing).
func (r *Request) Context() context.Context { return r.c.requestContext() }

// OnAbort arms the watch, as Context does, and has a told (Aborter) when
// the client closes the connection while the request is in flight, or
// the server closes: what a handler that only needs to abort its work
// uses instead of the request's context, which it then never makes. a is
// forgotten when the handler returns. Called from the handler's
// goroutine; when the request's context is canceled already, a is told
// at once, from it. OnAbort(nil) forgets the Aborter given before and
// arms nothing: once it returns, that Aborter is not being told and will
// not be, so the handler may reuse it before it returns.
func (r *Request) OnAbort(a Aborter) { r.c.onAbort(a) }

// Detach moves the connection off the event loop serving it (a
// connection that has a Detach method: dataplane/loop's) onto Go's
// netpoller, so that the handler may block on anything and let other
// goroutines read the body or write the response; on a connection Go's
// netpoller serves it does nothing. A watch armed goes on as the read
// beside the handler. Called from the handler's goroutine; an error
// leaves the connection to close after the exchange.
func (r *Request) Detach() error { return r.c.detach() }

// NetConn is the connection the request came on, to tell which event
// loop serves it; the handler must not read, write or close it.
func (r *Request) NetConn() net.Conn { return r.c.raw }
