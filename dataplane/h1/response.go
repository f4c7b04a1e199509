package h1

import (
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"
)

// Response writes the response to one request. The head is written from
// Header when WriteHeader is called (or the first Write); the body is
// framed by the Content-Length the handler set, else by the server: a body
// that ends within the write buffer gets a Content-Length, a longer or
// flushed one is chunked (on HTTP/1.0, delimited by closing).
type Response struct {
	c       *conn
	header  Header
	trailer Header
	status  int
	// wroteHeader: the final status is decided and the head written to
	// the buffer (framing lines aside while pending).
	wroteHeader bool
	framing     uint8
	// headEnd is where the framing lines go while pending; the body bytes
	// buffered so far follow it.
	headEnd  int
	length   int64
	written  int64
	trailers bool
	// open: a head begun by WriteHead takes fields (AddField) until
	// EndHead; hasDate and hasConn say whether its fields had a Date and
	// a Connection.
	open, hasDate, hasConn bool
}

// How the body is framed.
const (
	framePending uint8 = iota
	frameNone
	frameLength
	frameChunked
	frameClose
)

func (w *Response) begin() {
	w.status, w.wroteHeader, w.framing, w.headEnd = 0, false, framePending, 0
	w.length, w.written, w.trailers = -1, 0, false
	w.open, w.hasDate, w.hasConn = false, false, false
}

func (w *Response) reset() {
	w.header.Reset()
	w.trailer.Reset()
}

// Header is the response's fields, sent by WriteHeader; later changes are
// not sent. Transfer-Encoding is the server's to set.
func (w *Response) Header() *Header { return &w.header }

// Trailer is the fields sent after the body. Using it before the head is
// written makes the body chunked; on a body framed otherwise they are
// dropped.
func (w *Response) Trailer() *Header {
	w.trailers = true
	return &w.trailer
}

// Status is the status written, 0 before WriteHeader.
func (w *Response) Status() int { return w.status }

// Written is the number of body bytes written.
func (w *Response) Written() int64 { return w.written }

// WriteHeader writes the head with status. A 1xx status other than 101
// (100, 103 Early Hints) is sent at once, with the current fields for
// 103, and a final status may follow; later calls are ignored.
func (w *Response) WriteHeader(status int) {
	if !w.startHead(status) {
		return
	}
	for i := range w.header.fields {
		f := &w.header.fields[i]
		w.addField(f.name, f.value, false)
	}
	w.endHead()
}

// WriteHead begins the final head with status (a final status, or 101),
// whose fields the caller then appends one by one with AddField or
// AddFieldString, straight into the write buffer, and ends with EndHead:
// WriteHeader without Header's list in between (Header's fields are not
// sent), for a handler that relays a head it holds as bytes (a proxy's
// upstream response). The fields are taken as WriteHeader takes
// Header's: Transfer-Encoding is the server's and dropped, the first
// valid Content-Length frames the body (any other is dropped), a Date
// replaces the server's, Connection: close closes the connection after
// the response; EndHead frames the body as WriteHeader does (no body for
// HEAD, 101, 204 and 304; Content-Length, else chunked or until close
// decided by what is written, chunked when trailers are used) and adds
// Date and Connection when needed. Nothing else of the Response may be
// used until EndHead (Write, Flush and the handler's return end the head
// first). WriteHead reports false, writing nothing, for an informational
// status (use WriteHeader) or once the head was written or the
// connection hijacked; AddField and EndHead then do nothing.
func (w *Response) WriteHead(status int) bool {
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		return false
	}
	return w.startHead(status)
}

// AddField appends the field "name: value" to the head WriteHead began,
// by WriteHeader's rules (a name that is not a token is dropped, control
// characters in the value become spaces).
func (w *Response) AddField(name, value []byte) {
	if w.open {
		w.addField(name, value, false)
	}
}

// AddValidField is AddField for a field its caller checked already: name
// a token (RFC 9110 section 5.6.2, not empty) and value free of control
// characters other than HTAB, as a proxy's parser of its upstream's head
// checks them. It skips AddField's checks of both, and so writes a field
// that breaks the precondition as it is: a caller that did not check
// the field uses AddField.
func (w *Response) AddValidField(name, value []byte) {
	if w.open {
		w.addField(name, value, true)
	}
}

// AddFieldString is AddField with strings.
func (w *Response) AddFieldString(name, value string) {
	if w.open {
		// addField only reads them.
		w.addField(unsafe.Slice(unsafe.StringData(name), len(name)), unsafe.Slice(unsafe.StringData(value), len(value)), false)
	}
}

// EndHead ends the head WriteHead began.
func (w *Response) EndHead() {
	if w.open {
		w.endHead()
	}
}

// startHead begins the head with status in the write buffer and reports
// true, or reports false when there is nothing to write fields to: the
// head was written (or the connection hijacked), or status is
// informational (other than 101) and was sent as it is.
func (w *Response) startHead(status int) bool {
	c := w.c
	if w.wroteHeader || c.hijacked {
		return false
	}
	if status < 100 || status > 999 {
		status = http.StatusInternalServerError
	}
	if status < 200 && status != http.StatusSwitchingProtocols {
		w.writeInformational(status)
		return false
	}
	w.status, w.wroteHeader, w.open = status, true, true
	w.hasDate, w.hasConn = false, false
	c.out = appendStatusLine(c.outBuf(), status)
	return true
}

// addField appends one field of the head being written, noting what
// framing and persistence read of it; valid says the caller checked
// name and value (AddValidField).
func (w *Response) addField(name, value []byte, valid bool) {
	c := w.c
	switch {
	case equalFold(name, "transfer-encoding"):
		return
	case equalFold(name, "content-length"):
		n, ok := parseLength(trimOWS(value))
		if !ok || w.length >= 0 {
			return
		}
		w.length = n
	case equalFold(name, "date"):
		w.hasDate = true
	case equalFold(name, "connection"):
		w.hasConn = true
		if hasToken(value, "close") {
			c.closeAfter = true
		}
	}
	if valid {
		c.out = append(c.out, name...)
		c.out = append(c.out, ": "...)
		c.out = append(c.out, value...)
		c.out = append(c.out, "\r\n"...)
		return
	}
	c.out = appendField(c.out, name, value)
}

// endHead completes the head being written: Date, the framing of the
// body and, once it is decided, Connection and the blank line.
func (w *Response) endHead() {
	c := w.c
	w.open = false
	out := c.out
	if !w.hasDate {
		out = append(out, "Date: "...)
		out = append(out, httpDate()...)
		out = append(out, "\r\n"...)
	}
	status, hasConn := w.status, w.hasConn
	if status == http.StatusSwitchingProtocols {
		c.closeAfter = true
		hasConn = true // the handler's Connection: upgrade
	}
	switch {
	case status == http.StatusSwitchingProtocols || status == http.StatusNoContent ||
		status == http.StatusNotModified || string(c.req.method) == http.MethodHead:
		w.framing = frameNone
	case w.length >= 0:
		w.framing = frameLength
	default:
		w.headEnd = len(out)
		c.out = out
		return
	}
	if !hasConn {
		out = w.appendConnection(out)
	}
	c.out = append(out, "\r\n"...)
}

// headWritten makes sure the head is written before body bytes: with
// 200 when none was, ending one WriteHead began.
func (w *Response) headWritten() {
	switch {
	case !w.wroteHeader:
		w.WriteHeader(http.StatusOK)
	case w.open:
		w.endHead()
	}
}

// appendConnection adds the Connection field the persistence needs: close
// when the connection ends after this response, keep-alive for an
// HTTP/1.0 client that asked for it.
func (w *Response) appendConnection(out []byte) []byte {
	c := w.c
	if c.s.shutting.Load() {
		c.closeAfter = true
	}
	switch {
	case c.closeAfter:
		return append(out, "Connection: close\r\n"...)
	case c.req.minor == 0:
		return append(out, "Connection: keep-alive\r\n"...)
	}
	return out
}

func (w *Response) writeInformational(status int) {
	c := w.c
	out := appendStatusLine(c.outBuf(), status)
	if status == http.StatusEarlyHints {
		for i := range w.header.fields {
			f := &w.header.fields[i]
			out = appendField(out, f.name, f.value)
		}
	}
	c.out = append(out, "\r\n"...)
	_ = c.flush()
}

// Write writes body bytes, writing the head with 200 first if needed.
func (w *Response) Write(p []byte) (int, error) {
	w.headWritten()
	c := w.c
	if c.hijacked {
		return 0, ErrHijacked
	}
	if c.werr != nil {
		return 0, c.werr
	}
	switch w.framing {
	case frameNone:
		return len(p), nil
	case frameLength:
		if left := w.length - w.written; int64(len(p)) > left {
			n, err := w.writeRaw(p[:left])
			if err == nil {
				err = ErrContentLength
			}
			return n, err
		}
		return w.writeRaw(p)
	case framePending:
		if len(c.out)+len(p) <= cap(c.out) {
			c.out = append(c.out, p...)
			w.written += int64(len(p))
			return len(p), nil
		}
		w.commitStreaming()
	}
	if w.framing == frameClose {
		return w.writeRaw(p)
	}
	return w.writeChunk(p)
}

// WriteString writes s as Write does.
func (w *Response) WriteString(s string) (int, error) {
	w.headWritten()
	c := w.c
	if w.framing == framePending && c.werr == nil && len(c.out)+len(s) <= cap(c.out) {
		c.out = append(c.out, s...)
		w.written += int64(len(s))
		return len(s), nil
	}
	// Write only reads p.
	return w.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// Flush sends what is buffered; a body of unknown length becomes chunked.
func (w *Response) Flush() error {
	w.headWritten()
	if w.c.hijacked {
		return ErrHijacked
	}
	if w.framing == framePending {
		w.commitStreaming()
	}
	return w.c.flush()
}

// commitStreaming frames a body whose length is not known: chunked (or
// until close for HTTP/1.0), the bytes buffered so far as its first chunk.
func (w *Response) commitStreaming() {
	c := w.c
	var ins [96]byte
	b := ins[:0]
	buffered := len(c.out) - w.headEnd
	if c.req.minor >= 1 {
		w.framing = frameChunked
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	} else {
		w.framing = frameClose
		c.closeAfter = true
	}
	b = w.appendConnection(b)
	b = append(b, "\r\n"...)
	if w.framing == frameChunked && buffered > 0 {
		b = strconv.AppendInt(b, int64(buffered), 16)
		b = append(b, "\r\n"...)
		c.out = append(c.out, "\r\n"...)
	}
	c.out = slices.Insert(c.out, w.headEnd, b...)
}

// finish completes the response when the handler returns.
func (w *Response) finish() {
	c := w.c
	if w.open {
		w.endHead()
	}
	if !w.wroteHeader {
		if st := StatusOf(c.req.body.err); st != 0 {
			c.closeAfter = true
			w.header.Reset()
			w.header.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(st)
			_, _ = w.WriteString(Message(st) + "\n")
		} else {
			w.WriteHeader(http.StatusOK)
		}
	}
	switch w.framing {
	case framePending:
		if w.trailers && c.req.minor >= 1 {
			w.commitStreaming()
			w.endChunked()
			return
		}
		var ins [64]byte
		b := append(ins[:0], "Content-Length: "...)
		b = strconv.AppendInt(b, w.written, 10)
		b = append(b, "\r\n"...)
		b = w.appendConnection(b)
		b = append(b, "\r\n"...)
		c.out = slices.Insert(c.out, w.headEnd, b...)
		w.framing = frameLength
	case frameChunked:
		w.endChunked()
	case frameLength:
		if w.written < w.length {
			c.closeAfter = true
		}
	case frameClose:
		c.closeAfter = true
	}
}

func (w *Response) endChunked() {
	c := w.c
	out := append(c.outBuf(), "0\r\n"...)
	for i := range w.trailer.fields {
		f := &w.trailer.fields[i]
		out = appendField(out, f.name, f.value)
	}
	c.out = append(out, "\r\n"...)
}

func (w *Response) writeRaw(p []byte) (int, error) {
	c := w.c
	w.written += int64(len(p))
	if len(c.out)+len(p) <= cap(c.out) {
		c.out = append(c.out, p...)
		return len(p), nil
	}
	return c.writeThrough(p)
}

func (w *Response) writeChunk(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c := w.c
	w.written += int64(len(p))
	out := strconv.AppendInt(c.outBuf(), int64(len(p)), 16)
	out = append(out, "\r\n"...)
	if len(out)+len(p)+2 <= cap(out) {
		out = append(out, p...)
		c.out = append(out, "\r\n"...)
		return len(p), nil
	}
	c.out = out
	n, err := c.writeThrough(p)
	c.out = append(c.out, "\r\n"...)
	return n, err
}

// Hijack hands the connection over (for a WebSocket after "101 Switching
// Protocols"): what is buffered is sent first, the connection leaves
// its event loop (Request.Detach), and the returned conn
// reads the bytes the client sent past the head before the socket's. The
// server no longer reads, writes, times or closes the connection; the
// Request stays valid until the handler returns.
func (w *Response) Hijack() (net.Conn, error) {
	c := w.c
	if c.hijacked {
		return nil, ErrHijacked
	}
	if w.open {
		w.endHead()
	}
	if w.framing == framePending && w.wroteHeader {
		c.out = append(c.out, "\r\n"...)
		w.framing = frameNone
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	c.watchStop()
	// The connection leaves the server: off its event loop first, as
	// whoever takes it may block on it or pass it to other goroutines.
	if err := c.detach(); err != nil {
		return nil, err
	}
	c.hijacked = true
	_ = c.nc.SetDeadline(time.Time{})
	var pre []byte
	if c.r < c.w {
		pre = append([]byte(nil), c.buf[c.r:c.w]...)
		c.r = c.w
	}
	if c.pending {
		pre = append(pre, c.pendingByte)
		c.pending = false
	}
	c.s.forget(c, http.StateHijacked)
	return &hijackedConn{Conn: c.nc, pre: pre}, nil
}

// hijackedConn reads the bytes buffered before the hijack first.
type hijackedConn struct {
	net.Conn
	pre []byte
}

func (h *hijackedConn) Read(p []byte) (int, error) {
	if len(h.pre) > 0 {
		n := copy(p, h.pre)
		h.pre = h.pre[n:]
		return n, nil
	}
	return h.Conn.Read(p)
}

func appendStatusLine(out []byte, status int) []byte {
	out = append(out, "HTTP/1.1 "...)
	out = append(out, byte('0'+status/100), byte('0'+status/10%10), byte('0'+status%10), ' ')
	out = append(out, http.StatusText(status)...)
	return append(out, "\r\n"...)
}

// appendField writes "name: value\r\n". A name that is not a token is
// dropped and control characters in a value become spaces, so a handler
// passing on bytes it did not check cannot split the response.
func appendField(out, name, value []byte) []byte {
	if len(name) == 0 || !validToken(name) {
		return out
	}
	out = append(out, name...)
	out = append(out, ": "...)
	start := len(out)
	out = append(out, value...)
	if !validValue(value) {
		for i := start; i < len(out); i++ {
			if c := out[i]; c < 0x20 && c != '\t' || c == 0x7f {
				out[i] = ' '
			}
		}
	}
	return append(out, "\r\n"...)
}

// dateValue is the Date field of one second.
type dateValue struct {
	sec int64
	b   []byte
}

var dateCache atomic.Pointer[dateValue]

// httpDate is the current time in the Date field's format, formatted
// once a second.
func httpDate() []byte {
	now := time.Now()
	sec := now.Unix()
	if d := dateCache.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &dateValue{sec: sec, b: now.UTC().AppendFormat(make([]byte, 0, 32), http.TimeFormat)}
	dateCache.Store(d)
	return d.b
}
