package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// stream reads JSON values from r one at a time, without decoding them:
// value returns the bytes of the next one, found by a scan that follows
// strings and nesting only. What they hold is checked by whoever decodes
// them (entityDecoder, or encoding/json for anything else), so the scan
// may pass bytes that are not JSON; it never reads past the value's end.
// Its buffer holds one value (and what was read after it), whose size
// the reader's limit bounds.
type stream struct {
	r   io.Reader
	buf []byte
	pos int   // the next byte not consumed
	err error // the error that ended the reader (io.EOF at its end)
}

func newStream(r io.Reader) *stream {
	return &stream{r: r, buf: make([]byte, 0, 256<<10)}
}

// more reads more bytes into the buffer, keeping buf[pos:], and reports
// whether it read any. The consumed bytes are dropped first when they
// are at least half the buffer; the buffer grows when it is full.
func (s *stream) more() bool {
	if s.err != nil {
		return false
	}
	if s.pos > 0 && s.pos >= len(s.buf)/2 {
		n := copy(s.buf, s.buf[s.pos:])
		s.buf, s.pos = s.buf[:n], 0
	}
	if len(s.buf) == cap(s.buf) {
		grown := make([]byte, len(s.buf), 2*cap(s.buf))
		copy(grown, s.buf)
		s.buf = grown
	}
	for {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.err = err
		}
		if n > 0 || err != nil {
			return n > 0
		}
	}
}

// readErr is the error of a value cut short by the end of the input.
func (s *stream) readErr() error {
	if s.err == nil || errors.Is(s.err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return s.err
}

// peek skips whitespace and returns the next byte, not consuming it.
func (s *stream) peek() (byte, error) {
	for {
		for s.pos < len(s.buf) {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return c, nil
			}
		}
		if !s.more() {
			return 0, s.readErr()
		}
	}
}

// expect consumes the next byte past whitespace, which must be c.
func (s *stream) expect(c byte) error {
	got, err := s.peek()
	if err != nil {
		return err
	}
	if got != c {
		return fmt.Errorf("want %q, found %q", c, got)
	}
	s.pos++
	return nil
}

// end reports whether only whitespace is left, reading to the end of
// the input (whose checksum the decompressor verifies there).
func (s *stream) end() error {
	c, err := s.peek()
	switch {
	case err == nil:
		return fmt.Errorf("data after the document: %q", c)
	case errors.Is(err, io.ErrUnexpectedEOF) && errors.Is(s.err, io.EOF):
		return nil
	default:
		return fmt.Errorf("data after the document: %w", err)
	}
}

// value consumes the next value past whitespace and returns its bytes,
// valid until the next call.
func (s *stream) value() ([]byte, error) {
	c, err := s.peek()
	if err != nil {
		return nil, err
	}
	start := s.pos
	i := start // relative to the buffer, which more may move: kept as an offset from start
	depth := 0
	inString, escaped := false, false
	switch c {
	case '{', '[', '"':
	case '}', ']', ',', ':':
		return nil, fmt.Errorf("want a value, found %q", c)
	}
	for {
		for ; i < len(s.buf); i++ {
			c := s.buf[i]
			switch {
			case escaped:
				escaped = false
			case inString:
				switch c {
				case '\\':
					escaped = true
				case '"':
					inString = false
					if depth == 0 {
						s.pos = i + 1
						return s.buf[start:s.pos], nil
					}
				}
			case c == '"':
				inString = true
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth <= 0 {
					if depth < 0 { // a literal ended by its container's close
						s.pos = i
						return s.buf[start:i], nil
					}
					s.pos = i + 1
					return s.buf[start:s.pos], nil
				}
			case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':'):
				// The end of a literal (a number, true, false, null).
				s.pos = i
				return s.buf[start:i], nil
			}
		}
		off := i - start
		if !s.more() {
			if depth == 0 && !inString && errors.Is(s.err, io.EOF) && off > 0 {
				s.pos = len(s.buf) // a literal at the end of the input
				return s.buf[s.pos-off:], nil
			}
			return nil, s.readErr()
		}
		// more moved the buffer's unconsumed bytes, which start at start.
		start = s.pos
		i = start + off
	}
}

// isNull reports whether raw is the literal null.
func isNull(raw []byte) bool { return bytes.Equal(raw, []byte("null")) }
