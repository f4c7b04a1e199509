package h1

import (
	"bytes"
	"fmt"
	"io"
)

// readBodyBytes fills p from what is buffered, else reads from the
// connection straight into p (the caller bounds p to the body's bytes, so
// nothing past the body is read this way).
func (c *conn) readBodyBytes(p []byte) (int, error) {
	if c.r < c.w {
		n := copy(p, c.buf[c.r:c.w])
		c.r += n
		return n, nil
	}
	c.readDeadline(c.s.lim.BodyTimeout)
	for {
		n, err := c.nc.Read(p)
		if n > 0 {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// fillBody reads more body bytes into the buffer after the head, keeping
// the unread ones, until at least need are buffered or the read fails.
// The head stays where it is: the request's fields view it.
func (c *conn) fillBody(need int) error {
	if c.r == c.w {
		c.r, c.w = c.bodyBase, c.bodyBase
	}
	if len(c.buf)-c.r < need || c.w == len(c.buf) {
		if c.r > c.bodyBase {
			n := copy(c.buf[c.bodyBase:], c.buf[c.r:c.w])
			c.r, c.w = c.bodyBase, c.bodyBase+n
		}
		if len(c.buf)-c.bodyBase < need {
			c.growForBody()
		}
	}
	c.readDeadline(c.s.lim.BodyTimeout)
	n, err := c.nc.Read(c.buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readChunkLine returns the next line of chunked framing, without its
// CRLF. The line must end with CRLF and hold no other CR (net/http's
// rule; a bare LF does not end a chunk line, RFC 9112 errata 7633).
func (c *conn) readChunkLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(c.buf[c.r:c.w], '\n'); i >= 0 {
			line := c.buf[c.r : c.r+i+1]
			c.r += i + 1
			if len(line) < 2 || bytes.IndexByte(line, '\r') != len(line)-2 {
				return nil, ErrMalformedBody
			}
			return line[:len(line)-2], nil
		}
		if c.w-c.r >= maxChunkLine {
			return nil, ErrMalformedBody
		}
		if err := c.fillBody(c.w - c.r + 1); err != nil {
			return nil, err
		}
	}
}

// errTrailer refuses a trailer section: longer than maxChunkLine, or
// with a line net/http's reader would take but a head may not have
// (obs-fold, a bare LF).
var errTrailer = fmt.Errorf("%w: malformed trailer", ErrMalformedBody)

// readTrailer reads the trailer section after the last chunk into t: at
// most maxChunkLine bytes of fields, each line ending with CRLF, checked
// as header fields are. The fields view the read buffer.
func (c *conn) readTrailer(t *Header) error {
	end := -1
	for {
		rest := c.buf[c.r:c.w]
		if len(rest) >= 2 && rest[0] == '\r' && rest[1] == '\n' {
			c.r += 2
			return nil
		}
		if i := bytes.Index(rest, []byte("\r\n\r\n")); i >= 0 {
			end = i + 4
			break
		}
		if len(rest) >= maxChunkLine {
			return errTrailer
		}
		if err := c.fillBody(len(rest) + 1); err != nil {
			return err
		}
	}
	section := c.buf[c.r : c.r+end-2]
	c.r += end
	for len(section) > 0 {
		i := bytes.IndexByte(section, '\n')
		line := section[:i+1]
		section = section[i+1:]
		if len(line) < 3 || bytes.IndexByte(line, '\r') != len(line)-2 {
			return errTrailer
		}
		line = line[:len(line)-2]
		if line[0] == ' ' || line[0] == '\t' {
			return errTrailer
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validToken(line[:colon]) {
			return errTrailer
		}
		v := trimOWS(line[colon+1:])
		if !validValue(v) {
			return errTrailer
		}
		t.add(line[:colon], v)
	}
	return nil
}

// sendContinue answers "100 Continue" once, before the first read of a
// body whose client waits for it, unless the response has begun.
func (c *conn) sendContinue() {
	c.req.expectContinue = false
	if c.resp.wroteHeader || c.werr != nil {
		return
	}
	c.out = append(c.outBuf(), "HTTP/1.1 100 Continue\r\n\r\n"...)
	_ = c.flush()
}
