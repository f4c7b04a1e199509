package h1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
)

// body reads a request body from the connection: what is already in the
// read buffer first, then straight into the caller's slice for
// Content-Length bodies and chunk data, so a large body is not copied
// twice.
type body struct {
	c *conn
	// left is the bytes left: of the body for Content-Length, of the
	// current chunk when chunked.
	left    int64
	chunked bool
	state   uint8
	// total counts the body bytes returned, for MaxBodySize.
	total int64
	// excess counts chunk framing beyond the data, as net/http does.
	excess int64
	err    error
}

// The states of a chunked body.
const (
	chunkSize uint8 = iota
	chunkData
	chunkCRLF
)

// maxChunkLine bounds a chunk-size line and the trailer section
// (net/http's bound on both).
const maxChunkLine = 4096

func (b *body) init(c *conn, r *Request) {
	*b = body{c: c, chunked: r.chunked, left: r.contentLength}
	if !b.chunked && b.left == 0 {
		b.err = io.EOF
	}
}

// done reports whether the body was read to its end.
func (b *body) done() bool { return errors.Is(b.err, io.EOF) }

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.c.req.expectContinue {
		b.c.sendContinue()
	}
	var n int
	var err error
	if !b.chunked {
		n, err = b.readLength(p)
	} else {
		n, err = b.readChunked(p)
	}
	if err != nil && b.done() {
		b.c.bodyEnded()
	}
	return n, err
}

func (b *body) readLength(p []byte) (int, error) {
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.c.readBodyBytes(p)
	b.left -= int64(n)
	b.total += int64(n)
	if err != nil {
		return n, b.fail(err)
	}
	if b.left == 0 {
		b.err = io.EOF
		return n, io.EOF
	}
	return n, nil
}

func (b *body) readChunked(p []byte) (int, error) {
	for {
		switch b.state {
		case chunkSize:
			if err := b.beginChunk(); err != nil {
				return 0, b.fail(err)
			}
			if b.err != nil {
				return 0, b.err
			}
		case chunkData:
			if int64(len(p)) > b.left {
				p = p[:b.left]
			}
			n, err := b.c.readBodyBytes(p)
			b.left -= int64(n)
			b.total += int64(n)
			if err != nil {
				return n, b.fail(err)
			}
			if b.left == 0 {
				b.state = chunkCRLF
				// The last chunk often arrives with the data: end the
				// body now when its framing is already buffered.
				if b.finishBuffered() {
					return n, b.err
				}
			}
			return n, nil
		case chunkCRLF:
			if err := b.endChunk(); err != nil {
				return 0, b.fail(err)
			}
		}
	}
}

// finishBuffered consumes, without waiting, the framing that follows a
// chunk's data when all of it is in the buffer; it reports whether the
// body ended.
func (b *body) finishBuffered() bool {
	c := b.c
	rest := c.buf[c.r:c.w]
	if len(rest) < 5 || string(rest[:2]) != "\r\n" || rest[2] != '0' {
		return false
	}
	// "\r\n0\r\n\r\n": the last chunk and no trailer.
	if len(rest) >= 7 && string(rest[2:7]) == "0\r\n\r\n" {
		c.r += 7
		b.err = io.EOF
		return true
	}
	return false
}

// beginChunk reads a chunk-size line: hex digits, optional whitespace and
// extension, CRLF. A zero size reads the trailer and ends the body.
func (b *body) beginChunk() error {
	line, err := b.c.readChunkLine()
	if err != nil {
		return err
	}
	b.excess += int64(len(line)) + 2
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	size, ok := parseChunkSize(line)
	if !ok {
		if len(line) == 16 && validHex(line) {
			return errChunkSize
		}
		return ErrMalformedBody
	}
	// A sender may not make the proxy read much more framing than data
	// (net/http's bound: 16 bytes per chunk and twice its data, 16 KiB in
	// all).
	b.excess = max(b.excess-16-2*size, 0)
	if b.excess > 16<<10 {
		return ErrMalformedBody
	}
	if lim := b.c.s.lim.MaxBodySize; lim > 0 && size > lim-b.total {
		return ErrBodyTooLarge
	}
	if size == 0 {
		if err := b.c.readTrailer(&b.c.req.trailer); err != nil {
			return err
		}
		b.err = io.EOF
		return nil
	}
	b.left, b.state = size, chunkData
	return nil
}

// parseChunkSize reads 1 to 16 hex digits, at most 2^63-1 (net/http reads
// sizes up to 2^64-1; nginx refuses what does not fit an off_t).
func parseChunkSize(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 16 {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		var d byte
		switch {
		case isDigit(c):
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(d)
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// errChunkSize refuses a chunk size of 16 hex digits past 2^63-1.
var errChunkSize = fmt.Errorf("%w: chunk size past 2^63-1", ErrMalformedBody)

func validHex(b []byte) bool {
	for _, c := range b {
		if !isHex(c) {
			return false
		}
	}
	return true
}

// endChunk reads the CRLF after a chunk's data.
func (b *body) endChunk() error {
	c := b.c
	for c.w-c.r < 2 {
		if err := c.fillBody(2); err != nil {
			return err
		}
	}
	if c.buf[c.r] != '\r' || c.buf[c.r+1] != '\n' {
		return ErrMalformedBody
	}
	c.r += 2
	b.state = chunkSize
	return nil
}

// fail records err as the body's outcome: a timeout is ErrBodyTimeout, a
// connection ending early io.ErrUnexpectedEOF. The connection is closed
// after the exchange.
func (b *body) fail(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		err = io.ErrUnexpectedEOF
	case errors.As(err, &ne) && ne.Timeout():
		err = ErrBodyTimeout
	}
	b.err = err
	b.c.closeAfter = true
	return err
}
