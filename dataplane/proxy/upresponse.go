package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"
)

// maxResponseHead bounds an upstream response's head (status line and
// header fields, or a chunked body's trailer section): a larger one is
// answered 502, as nginx answers an upstream that "sent too big header".
const maxResponseHead = 64 << 10

// errHeadTooBig is a response head larger than maxResponseHead.
var errHeadTooBig = errors.New("upstream sent too big header")

// badResponse is an upstream response the proxy refuses to relay: a
// malformed head, or framing that could be read two ways.
type badResponse struct{ why string }

func (e *badResponse) Error() string { return "upstream sent an invalid response: " + e.why }

func malformed(format string, args ...any) error {
	return &badResponse{why: fmt.Sprintf(format, args...)}
}

// framing is how a response's body is delimited.
type framing uint8

const (
	bodyNone    framing = iota // HEAD, 1xx, 204, 304
	bodyLength                 // Content-Length
	bodyChunked                // Transfer-Encoding: chunked
	bodyClose                  // read until the upstream closes
)

// readHead reads a head into pc.head, one line after another without
// their line ends, pc.ends holding where each ends; the empty line that
// closes the head is not kept. Lines end in CRLF or LF; a CR elsewhere is
// refused by the callers' checks of the characters.
func (pc *h1Conn) readHead(limit int) error {
	pc.head, pc.ends = pc.head[:0], pc.ends[:0]
	for {
		start := len(pc.head)
		for {
			line, err := pc.br.ReadSlice('\n')
			if len(pc.head)+len(line) > limit {
				return errHeadTooBig
			}
			pc.head = append(pc.head, line...)
			if err == nil {
				break
			}
			if err != bufio.ErrBufferFull {
				if err == io.EOF && len(pc.head) > 0 {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		end := len(pc.head) - 1 // the LF
		if end > start && pc.head[end-1] == '\r' {
			end--
		}
		pc.head = pc.head[:end]
		if end == start {
			return nil
		}
		pc.ends = append(pc.ends, end)
	}
}

// respHead is what parseResponse learned of the response head in
// pc.head: its fields are pc.fields, views into pc.head.
type respHead struct {
	code, minor int
	// status is the status line's code and reason, pc.head[9:statusEnd].
	statusEnd int
	// length is the Content-Length, -1 without one.
	length  int64
	framing framing
	chunked bool
	close   bool
	// trailer says a Trailer field announces trailers.
	trailer bool
}

// fieldSpan is one header field of pc.head: its name, canonical, at
// [name, colon) and its value, trimmed, at [value, end).
type fieldSpan struct{ name, colon, value, end int }

// parseResponse reads a response head of at most limit bytes from pc for
// a request of method, checks it as net/http and nginx check it and says
// how the body is framed; the field names are made canonical in place.
func (pc *h1Conn) parseResponse(method string, limit int) (respHead, error) {
	var h respHead
	if err := pc.readHead(limit); err != nil {
		return h, err
	}
	if len(pc.ends) == 0 {
		return h, malformed("empty status line")
	}
	head := pc.head
	line := head[:pc.ends[0]]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return h, malformed("status line %q", clip(string(line)))
	}
	switch line[7] {
	case '0':
		h.minor = 0
	case '1':
		h.minor = 1
	default:
		return h, malformed("status line %q", clip(string(line)))
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return h, malformed("status line %q", clip(string(line)))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return h, malformed("status line %q", clip(string(line)))
	}
	if !validText(line[9:]) {
		return h, malformed("status line %q", clip(string(line)))
	}
	h.code, h.statusEnd = code, len(line)

	n := len(pc.ends) - 1
	pc.fields = pc.fields[:0]
	length, chunked, close := int64(-1), false, h.minor == 0
	for i := range n {
		f, err := parseFieldAt(head, pc.ends[i], pc.ends[i+1])
		if err != nil {
			return h, err
		}
		key, value := head[f.name:f.colon], head[f.value:f.end]
		switch string(key) {
		case "Content-Length":
			if length >= 0 {
				return h, malformed("duplicate Content-Length")
			}
			if length = parseLength(value); length < 0 {
				return h, malformed("Content-Length %q", clip(string(value)))
			}
		case "Transfer-Encoding":
			if chunked {
				return h, malformed("duplicate Transfer-Encoding")
			}
			if !bytes.EqualFold(value, []byte("chunked")) || h.minor == 0 {
				return h, malformed("Transfer-Encoding %q", clip(string(value)))
			}
			chunked = true
		case "Connection":
			close = close && !hasTokenBytes(value, "keep-alive") || hasTokenBytes(value, "close")
		case "Trailer":
			h.trailer = true
		}
		pc.fields = append(pc.fields, f)
	}
	if chunked && length >= 0 {
		// nginx refuses it: either reading could be the upstream's.
		return h, malformed("both Content-Length and Transfer-Encoding")
	}
	h.chunked, h.close, h.length = chunked, close, length
	switch {
	case code < 200 || code == http.StatusNoContent || code == http.StatusNotModified:
		h.framing = bodyNone
	case method == http.MethodHead:
		h.framing = bodyNone
	case chunked:
		h.framing = bodyChunked
	case length >= 0:
		h.framing = bodyLength
	default:
		h.close = true
		h.framing = bodyClose
	}
	return h, nil
}

// response makes the *http.Response of the head parseResponse read into
// pc, as net/http's ReadResponse has it: one string the header values
// share, Transfer-Encoding moved to TransferEncoding, Trailer's names to
// Trailer.
func (pc *h1Conn) response(h *respHead) *http.Response {
	text := string(pc.head)
	res := &http.Response{ProtoMajor: 1, ProtoMinor: h.minor, Proto: "HTTP/1.1", ContentLength: -1,
		StatusCode: h.code, Status: text[9:h.statusEnd], Close: h.close}
	if h.minor == 0 {
		res.Proto = "HTTP/1.0"
	}
	hdr := make(http.Header, len(pc.fields)+4)
	// One backing array for the fields that appear once.
	vals := make([]string, len(pc.fields))
	for i, f := range pc.fields {
		key, value := text[f.name:f.colon], text[f.value:f.end]
		switch key {
		case "Transfer-Encoding":
			continue // as net/http reads it: moved to TransferEncoding
		case "Trailer":
			for name := range strings.SplitSeq(value, ",") {
				if name = textproto.TrimString(name); name != "" && validFieldName(name) {
					if res.Trailer == nil {
						res.Trailer = http.Header{}
					}
					res.Trailer[textproto.CanonicalMIMEHeaderKey(name)] = nil
				}
			}
		}
		if prior, ok := hdr[key]; ok {
			hdr[key] = append(prior, value)
		} else {
			vals[i] = value
			hdr[key] = vals[i : i+1 : i+1]
		}
	}
	res.Header = hdr
	switch {
	case h.code < 200 || h.code == http.StatusNoContent || h.code == http.StatusNotModified:
		if h.code >= 200 {
			res.ContentLength = 0
		}
	case h.framing == bodyNone: // HEAD
		res.ContentLength = h.length
		if h.chunked {
			res.TransferEncoding = []string{"chunked"}
		}
	case h.chunked:
		res.TransferEncoding = []string{"chunked"}
	case h.length >= 0:
		res.ContentLength = h.length
	}
	return res
}

// parseFieldAt checks the header line head[start:end] as parseField
// does, makes its name canonical in place and returns where its parts
// are.
func parseFieldAt(head []byte, start, end int) (fieldSpan, error) {
	field := head[start:end]
	i := bytes.IndexByte(field, ':')
	if i <= 0 {
		if len(field) > 0 && (field[0] == ' ' || field[0] == '\t') {
			return fieldSpan{}, malformed("folded header line")
		}
		return fieldSpan{}, malformed("header line %q", clip(string(field)))
	}
	name := field[:i]
	if !validFieldName(name) {
		return fieldSpan{}, malformed("header name %q", clip(string(name)))
	}
	v, ve := i+1, len(field)
	for v < ve && (field[v] == ' ' || field[v] == '\t') {
		v++
	}
	for ve > v && (field[ve-1] == ' ' || field[ve-1] == '\t') {
		ve--
	}
	if !validText(field[v:ve]) {
		return fieldSpan{}, malformed("header %s's value", name)
	}
	canonical(name)
	return fieldSpan{name: start, colon: start + i, value: start + v, end: start + ve}, nil
}

// canonical rewrites the token name in place in net/http's canonical
// form (textproto.CanonicalMIMEHeaderKey).
func canonical(name []byte) {
	upper := true
	for i, c := range name {
		if upper && 'a' <= c && c <= 'z' {
			name[i] = c - ('a' - 'A')
		} else if !upper && 'A' <= c && c <= 'Z' {
			name[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
}

// hasTokenBytes is hasToken on a value's bytes.
func hasTokenBytes(v []byte, token string) bool {
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if strings.EqualFold(string(bytes.Trim(tok, " \t")), token) {
			return true
		}
	}
	return false
}

// parseField splits one header line into its canonical name and its
// value, refusing what net/http and nginx refuse: a folded line, a name
// that is not a token or is followed by white space, control characters
// in the value.
func parseField(field string) (key, value string, err error) {
	i := strings.IndexByte(field, ':')
	if i <= 0 {
		if field != "" && (field[0] == ' ' || field[0] == '\t') {
			return "", "", malformed("folded header line")
		}
		return "", "", malformed("header line %q", clip(field))
	}
	name := field[:i]
	if !validFieldName(name) {
		return "", "", malformed("header name %q", clip(name))
	}
	value = strings.Trim(field[i+1:], " \t")
	if !validText(value) {
		return "", "", malformed("header %s's value", name)
	}
	return textproto.CanonicalMIMEHeaderKey(name), value, nil
}

// validText reports whether v holds no control characters but tabs.
func validText[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// parseLength parses a Content-Length value: decimal digits only, up to
// 18 of them; -1 when it is not one.
func parseLength[T string | []byte](v T) int64 {
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// clip shortens what an error quotes of the upstream's bytes.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// readBody reads the response body of b's framing into p.
func (b *h1Body) readBody(p []byte) (int, error) {
	br := b.pc.br
	switch b.framing {
	case bodyNone:
		return 0, io.EOF
	case bodyLength:
		if b.left == 0 {
			return 0, io.EOF
		}
		if int64(len(p)) > b.left {
			p = p[:b.left]
		}
		n, err := br.Read(p)
		b.left -= int64(n)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err == nil && b.left == 0 {
			err = io.EOF
		}
		return n, err
	case bodyClose:
		return br.Read(p)
	}
	return b.readChunked(p)
}

// readReady reports whether a Read of b would return without waiting
// for the upstream, for loopSpool: the body is done, or its next bytes
// (for a chunked body, past the chunk's framing) are in the connection's
// buffer, or else the connection has bytes (an event loop's Conn tells,
// ReadReady). A connection that cannot tell (under TLS, or not a loop's)
// says false: the caller hands over what it has rather than wait.
func (b *h1Body) readReady() bool {
	if b.done || b.eof || b.err != nil || b.framing == bodyNone {
		return true
	}
	br := b.pc.br
	if n := br.Buffered(); n > 0 {
		if b.framing != bodyChunked || b.left > 0 {
			return true
		}
		buf, _ := br.Peek(n)
		if b.chunkEnd {
			buf = buf[min(2, len(buf)):]
		}
		// A whole chunk-size line and a byte after it.
		if i := bytes.IndexByte(buf, '\n'); i >= 0 && i+1 < len(buf) {
			return true
		}
	}
	if _, ok := b.pc.conn.(*tls.Conn); ok {
		return false
	}
	rr, ok := b.pc.raw.(interface{ ReadReady() bool })
	return ok && rr.ReadReady()
}

// readChunked reads a chunked body: chunk data into p, as much as is at
// hand, then the trailer section into the response's Trailer.
func (b *h1Body) readChunked(p []byte) (int, error) {
	br := b.pc.br
	n := 0
	for n < len(p) {
		if b.left == 0 {
			if b.chunkEnd {
				if n > 0 && br.Buffered() < 2 {
					// Return what is read rather than wait for the CRLF.
					return n, nil
				}
				if err := b.readCRLF(); err != nil {
					return n, err
				}
				b.chunkEnd = false
			}
			if n > 0 && !lineBuffered(br) {
				// Return what is read rather than wait for the next chunk.
				return n, nil
			}
			size, err := b.readChunkSize()
			if err != nil {
				return n, err
			}
			if size == 0 {
				if err := b.readTrailer(); err != nil {
					return n, err
				}
				return n, io.EOF
			}
			b.left, b.chunkEnd = size, true
		}
		q := p[n:]
		if int64(len(q)) > b.left {
			q = q[:b.left]
		}
		if n > 0 && br.Buffered() == 0 {
			return n, nil
		}
		m, err := br.Read(q)
		n += m
		b.left -= int64(m)
		if err == io.EOF {
			return n, io.ErrUnexpectedEOF
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// lineBuffered reports whether a whole line is in br's buffer.
func lineBuffered(br *bufio.Reader) bool {
	buf, _ := br.Peek(br.Buffered())
	return bytes.IndexByte(buf, '\n') >= 0
}

// readCRLF reads the line end after a chunk's data.
func (b *h1Body) readCRLF() error {
	var crlf [2]byte
	if _, err := io.ReadFull(b.pc.br, crlf[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if crlf != [2]byte{'\r', '\n'} {
		return malformed("chunk data not followed by CRLF")
	}
	return nil
}

// readChunkSize reads a chunk's size line: hexadecimal digits, then
// optional extensions (ignored).
func (b *h1Body) readChunkSize() (int64, error) {
	line, err := b.pc.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err == bufio.ErrBufferFull {
			err = malformed("chunk size line too long")
		}
		return 0, err
	}
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		if !validText(line[i:]) {
			return 0, malformed("chunk extension")
		}
		line = line[:i]
	}
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	if len(line) == 0 || len(line) > 15 {
		return 0, malformed("chunk size %q", clip(string(line)))
	}
	var size int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, malformed("chunk size %q", clip(string(line)))
		}
		size = size<<4 | int64(c)
	}
	return size, nil
}

// readTrailer reads the trailer section after the last chunk into the
// response's Trailer; the framing fields are left out.
func (b *h1Body) readTrailer() error {
	pc := b.pc
	if err := pc.readHead(maxResponseHead); err != nil {
		return err
	}
	if len(pc.ends) == 0 {
		return nil
	}
	text := string(pc.head)
	start := 0
	for _, end := range pc.ends {
		key, value, err := parseField(text[start:end])
		start = end
		if err != nil {
			return err
		}
		switch key {
		case "Content-Length", "Transfer-Encoding", "Trailer", "Host", "Connection":
			continue
		}
		if b.res.Trailer == nil {
			b.res.Trailer = http.Header{}
		}
		b.res.Trailer[key] = append(b.res.Trailer[key], value)
	}
	return nil
}
