package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// Kong's answers to a request body the client got wrong
// (kong/error_handlers.lua).
const (
	msgBadRequest     = "Bad request"
	msgRequestTimeout = "Request timeout"
	msgPayloadTooBig  = "Payload too large"
	msgUnexpected     = "An unexpected error occurred"
)

// errBodyTooLarge is a request body past Limits.MaxBodySize.
var errBodyTooLarge = errors.New("request body larger than the client_max_body_size")

// clientBody reads the client's request body for the proxy: each read
// waits at most the body timeout, the body may not pass the size limit,
// and the first failure is kept, so that it is answered as the client's
// fault (400, 408, 413) rather than the upstream's (502).
type clientBody struct {
	// req is the request whose body this is, rc the body net/http gave.
	req     *http.Request
	rc      io.ReadCloser
	ctl     *http.ResponseController
	timeout time.Duration
	// left is what the body may still hold; -1 for no limit.
	left int64

	// mu orders deadline changes against the end of the request: once
	// the handler returned (ended), the response controller is not used.
	mu    sync.Mutex
	ended bool
	eof   bool
	err   error
}

// hasBody reports whether r carries a request body.
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 || (r.Body != nil && r.Body != http.NoBody)
}

// wrapBody puts r's body behind a clientBody; nil when r has none.
func (s *Server) wrapBody(w http.ResponseWriter, r *http.Request) *clientBody {
	if !hasBody(r) {
		return nil
	}
	b := &clientBody{req: r, rc: r.Body, ctl: http.NewResponseController(w), timeout: s.limits.BodyTimeout, left: -1}
	if s.limits.MaxBodySize > 0 {
		b.left = s.limits.MaxBodySize
	}
	r.Body = b
	return b
}

// Read reads from the client with a fresh deadline.
func (b *clientBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.err != nil {
		err := b.err
		b.mu.Unlock()
		return 0, err
	}
	if !b.ended {
		// Not every ResponseWriter has a connection deadline (HTTP/2
		// streams do since Go 1.20; tests' recorders do not).
		_ = b.ctl.SetReadDeadline(time.Now().Add(b.timeout))
	}
	b.mu.Unlock()
	n, err := b.rc.Read(p)
	if b.left >= 0 {
		if b.left -= int64(n); b.left < 0 {
			err = errBodyTooLarge
		}
	}
	if err != nil {
		b.mu.Lock()
		if err == io.EOF {
			b.eof = true
		} else if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// unread reports whether the body is still being read: not to its end,
// without a failure. An upstream answered before it had all of it.
func (b *clientBody) unread() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.eof && b.err == nil
}

// Close closes the client's body.
func (b *clientBody) Close() error { return b.rc.Close() }

// end stops deadline changes, the request's handler returning, and gives
// the request back the body net/http made: net/http then sees what is
// left of it, and a client that waits for "100 Continue" to send a body
// nobody read gets the answer and a closed connection, not a "100
// Continue" after the fact.
func (b *clientBody) end() {
	b.mu.Lock()
	b.ended = true
	b.mu.Unlock()
	b.req.Body = b.rc
}

// failure is the first error reading the body, nil if none.
func (b *clientBody) failure() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// clientFault maps a failure reading the request body to Kong's answer:
// nginx's error page (400, 408, 413, 500), or request-size-limiting's
// kong.response.error; nil (499, nothing sent) when the client went away.
func clientFault(err error) *plugin.Response {
	var ne net.Error
	switch {
	case errors.Is(err, errTempFile):
		return plugin.ErrorPage(http.StatusInternalServerError, msgUnexpected)
	case errors.Is(err, plugin.ErrBodyTooLarge):
		return plugin.Error(http.StatusRequestEntityTooLarge, msgBodyTooLarge)
	case errors.Is(err, errBodyTooLarge), errors.Is(err, h1.ErrBodyTooLarge):
		return plugin.ErrorPage(http.StatusRequestEntityTooLarge, msgPayloadTooBig)
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, h1.ErrBodyTimeout), errors.As(err, &ne) && ne.Timeout():
		return plugin.ErrorPage(http.StatusRequestTimeout, msgRequestTimeout)
	case errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return nil
	}
	// A malformed chunked body, or one cut short.
	return plugin.ErrorPage(http.StatusBadRequest, msgBadRequest)
}

// refuseBody answers a request whose body could not be read and closes
// the connection: what is left of the body cannot be trusted.
func (s *Server) refuseBody(w http.ResponseWriter, r *http.Request, ex *exchange, err error) {
	ex.err = err
	resp := clientFault(err)
	switch {
	case resp == nil:
		ex.status = statusClientClosed
		return
	case resp.Status == http.StatusInternalServerError:
		s.log.Error("buffering a request body", "error", err)
	}
	w.Header()["Connection"] = []string{"close"}
	s.exit(w, r, ex, resp)
}

// tooLarge reports whether r announces a body past MaxBodySize; nginx
// answers those before reading anything.
func (s *Server) tooLarge(r *http.Request) bool {
	return s.limits.MaxBodySize > 0 && r.ContentLength > s.limits.MaxBodySize
}

// bufferBody reads r's whole body before the upstream is contacted, as
// nginx's proxy_request_buffering does for routes with request_buffering:
// up to BodyBufferSize in memory, the rest in a temporary file, which is
// removed as soon as it is created and closed by release. The body is
// then sent with a Content-Length.
func (s *Server) bufferBody(r *http.Request) (release func(), err error) {
	memMax := int64(s.limits.BodyBufferSize)
	if n := r.ContentLength; n >= 0 && n <= memMax {
		memMax = n
	}
	mem := make([]byte, 0, memMax)
	for int64(len(mem)) < memMax {
		n, err := r.Body.Read(mem[len(mem):cap(mem)])
		mem = mem[:len(mem)+n]
		if err == io.EOF {
			setBody(r, &memBody{b: mem}, int64(len(mem)))
			return func() {}, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if r.ContentLength == int64(len(mem)) {
		setBody(r, &memBody{b: mem}, int64(len(mem)))
		return func() {}, nil
	}
	f, err := s.tempFile("skyport-body-")
	if err != nil {
		return nil, err
	}
	buf := s.bufs.Get()
	defer s.bufs.Put(buf)
	n, err := fileWriter{f}.Write(mem)
	if err == nil {
		var m int64
		m, err = io.CopyBuffer(fileWriter{f}, onlyReader{r.Body}, buf)
		n += int(m)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	setBody(r, io.NewSectionReader(f, 0, int64(n)), int64(n))
	return func() { f.Close() }, nil
}

// setBody replaces r's body by one of n bytes.
func setBody(r *http.Request, rd io.Reader, n int64) {
	switch b := rd.(type) {
	case *memBody:
		r.Body = b
	default:
		r.Body = io.NopCloser(rd)
	}
	if n == 0 {
		r.Body = http.NoBody
	}
	r.ContentLength = n
	r.TransferEncoding = nil
}

// memBody is a request body held in memory (buffered): the upstream
// client sends its bytes with the request head, without reading it
// (heldBytes).
type memBody struct {
	b   []byte
	off int
}

// Read implements io.Reader.
func (m *memBody) Read(p []byte) (int, error) {
	if m.off >= len(m.b) {
		return 0, io.EOF
	}
	n := copy(p, m.b[m.off:])
	m.off += n
	return n, nil
}

// Close implements io.Closer.
func (m *memBody) Close() error { return nil }

// heldBytes returns the bytes of a body held in memory that nothing has
// read yet, at most limit of them, marking it sent; false for another
// body, which is read as a stream.
func heldBytes(body io.Reader, limit int) ([]byte, bool) {
	ob, once := body.(*onceBody)
	if once {
		body = ob.rc
	}
	mb, ok := body.(*memBody)
	if !ok || mb.off != 0 || len(mb.b) > limit {
		return nil, false
	}
	if once {
		ob.read = true
	}
	return mb.b, true
}

// errTempFile marks a temporary file that could not be written: the data
// plane's fault, not the client's.
var errTempFile = errors.New("temporary file")

// tempFile creates a temporary file in TempDir and removes its name at
// once: it lives until closed, and nothing is left behind on a crash.
func (s *Server) tempFile(prefix string) (*os.File, error) {
	f, err := os.CreateTemp(s.limits.TempDir, prefix)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTempFile, err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: removing %s: %w", errTempFile, f.Name(), err)
	}
	return f, nil
}

// fileWriter writes to a temporary file; its errors are errTempFile. It
// hides io.ReaderFrom, so that io.CopyBuffer uses the pooled buffer.
type fileWriter struct{ f *os.File }

// Write implements io.Writer.
func (w fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = fmt.Errorf("%w: %w", errTempFile, err)
	}
	return n, err
}

// onlyReader hides io.WriterTo, so that io.CopyBuffer uses the pooled
// buffer.
type onlyReader struct{ io.Reader }
