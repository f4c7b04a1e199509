package h1

import (
	"bytes"
	"net/http"
)

// headScan finds the end of a request head as its bytes arrive, reading
// each byte once however the head is split across reads, and refuses a
// line or a head past the limits before more is read.
type headScan struct {
	// start is where the head begins; pos is the next byte to scan;
	// lineStart where the current line begins; line its number (0 is the
	// request line). All index the read buffer.
	start, pos, lineStart, line int
}

func (s *headScan) reset(start int) { *s = headScan{start: start, pos: start, lineStart: start} }

// scan looks at buf[s.pos:w] for the blank line that ends the head. It
// returns the index just past the head, or 0 and a nil error when more
// bytes are needed.
func (s *headScan) scan(buf []byte, w int, lim *Limits) (int, *headError) {
	for {
		i := bytes.IndexByte(buf[s.pos:w], '\n')
		if i < 0 {
			s.pos = w
			if w-s.lineStart > lim.HeaderBufferSize {
				return 0, s.tooLong()
			}
			if w-s.start >= lim.headBlock() {
				return 0, headerTooLarge("head larger than the header buffers")
			}
			return 0, nil
		}
		lf := s.pos + i
		if lf+1-s.lineStart > lim.HeaderBufferSize {
			return 0, s.tooLong()
		}
		if lf+1-s.start > lim.headBlock() {
			return 0, headerTooLarge("head larger than the header buffers")
		}
		empty := lf == s.lineStart || lf == s.lineStart+1 && buf[s.lineStart] == '\r'
		if empty && s.line > 0 {
			return lf + 1, nil
		}
		s.line++
		s.lineStart, s.pos = lf+1, lf+1
	}
}

func (s *headScan) tooLong() *headError {
	if s.line == 0 {
		return &headError{status: http.StatusRequestURITooLong, msg: msgURITooLong, why: "request line longer than a header buffer"}
	}
	return headerTooLarge("header field longer than a header buffer")
}

func headerTooLarge(why string) *headError {
	return &headError{status: http.StatusBadRequest, msg: msgHeaderTooLarge, why: why}
}
