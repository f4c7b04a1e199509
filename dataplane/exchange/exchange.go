package exchange

import (
	"crypto/tls"
	"io"
	"net"
	"net/netip"
)

// Request is the view of one request.
type Request interface {
	// Method is the request method ("GET").
	Method() []byte
	// Host is the host the request is for (Host field, :authority or an
	// absolute target), possibly with ":port".
	Host() []byte
	// Path is the request path, still percent-encoded.
	Path() []byte
	// Query is the query without "?", nil when there is none.
	Query() []byte
	// Proto is "HTTP/1.0", "HTTP/1.1" or "HTTP/2.0".
	Proto() string
	// Header is the request's fields (Host excluded on net/http, as it
	// keeps it apart; the h1 view holds it: use Host).
	Header() Header
	// Trailer is the body's trailer fields, complete once Body returned
	// io.EOF.
	Trailer() Header
	// ContentLength is the body's length, -1 when unknown.
	ContentLength() int64
	// Body streams the request body.
	Body() io.Reader
	// ClientAddr is the client's address and port.
	ClientAddr() netip.AddrPort
	// TLS is the connection's TLS state, nil on plain connections.
	TLS() *tls.ConnectionState
}

// Header is an ordered set of fields viewed as bytes.
type Header interface {
	// Get is the first value of the field named name (any case), nil when
	// there is none.
	Get(name string) []byte
	// Values calls fn with each value of the fields named name until fn
	// returns false.
	Values(name string, fn func(value []byte) bool)
	// Len is the number of fields; At the i-th.
	Len() int
	At(i int) (name, value []byte)
	// Set replaces the fields named name by one; Add appends one; Del
	// removes them. Values are copied.
	Set(name, value string)
	Add(name, value string)
	AddBytes(name, value []byte)
	Del(name string)
}

// Response is the view of the response being written.
type Response interface {
	// Header is the fields WriteHeader sends.
	Header() Header
	// Trailer is the fields sent after the body.
	Trailer() Header
	// WriteHeader sends the head; 1xx statuses may precede the final one.
	WriteHeader(status int)
	// Write writes body bytes.
	Write(p []byte) (int, error)
	// Flush sends what is buffered.
	Flush() error
	// Hijack takes the connection over (HTTP/1.1 upgrades only).
	Hijack() (net.Conn, error)
	// Status is the status written, 0 before WriteHeader; Written the
	// body bytes written.
	Status() int
	Written() int64
}
