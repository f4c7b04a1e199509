package h1

import (
	"errors"
	"io"
	"net"
	"time"
)

// The body errors that refuse what net/http reads, on purpose.
var (
	ErrTrailer   = errTrailer
	ErrChunkSize = errChunkSize
)

// Parsed is what the server made of one request's bytes, for the
// differential fuzz test.
type Parsed struct {
	// Status is 0 when the request was accepted, the answer's status when
	// it was refused, -1 when the bytes end before the head does.
	Status int
	// Why says why a refused head was refused.
	Why                    string
	Method, Target, Host   string
	Header, Trailer        [][2]string
	ContentLength          int64
	Body                   []byte
	BodyErr                error
	ProtoMinor             int
	Close, ExpectsContinue bool
}

// ParseOne feeds data to a connection of s, split into reads of at most
// split bytes, and reports the first request it reads and its body.
func ParseOne(s *Server, data []byte, split int) Parsed {
	s.init()
	c := s.connPool.Get().(*conn)
	c.init(s, &memConn{data: data, split: max(split, 1)})
	defer c.release()
	err := c.readRequest(true)
	var he *headError
	switch {
	case errors.As(err, &he):
		return Parsed{Status: he.status, Why: he.why}
	case err != nil:
		return Parsed{Status: -1}
	}
	r := &c.req
	p := Parsed{Method: string(r.method), Target: string(r.target), Host: string(r.host),
		ContentLength: r.contentLength, ProtoMinor: r.minor, Close: r.close, ExpectsContinue: r.expectContinue}
	for i := range r.header.Len() {
		n, v := r.header.At(i)
		p.Header = append(p.Header, [2]string{string(n), string(v)})
	}
	p.Body, p.BodyErr = io.ReadAll(&r.body)
	for i := range r.trailer.Len() {
		n, v := r.trailer.At(i)
		p.Trailer = append(p.Trailer, [2]string{string(n), string(v)})
	}
	return p
}

// memConn is a net.Conn reading data in pieces and discarding writes.
type memConn struct {
	data  []byte
	split int
}

func (m *memConn) Read(p []byte) (int, error) {
	if len(m.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), m.split)], m.data)
	m.data = m.data[n:]
	return n, nil
}

func (m *memConn) Write(p []byte) (int, error)      { return len(p), nil }
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// WatchPhase is the phase of the watch on r's connection: "off", "armed",
// "fired" (waiting for the body's end), "reading" or "aborted"; "none"
// when a pipelined request is buffered, which leaves nothing to watch.
func WatchPhase(r *Request) string {
	w := r.c.watch
	if w == nil {
		return "off"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.off {
		return "none"
	}
	return [...]string{"off", "armed", "fired", "reading", "aborted"}[w.phase]
}

// WatchGotByte reports whether the watch on r's connection read a byte of
// the next request.
func WatchGotByte(r *Request) bool {
	w := r.c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.got
}
