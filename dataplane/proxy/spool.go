package proxy

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
)

// spool is an upstream response body read as fast as the upstream sends
// it, whatever the client's pace: nginx's proxy_buffering, which Kong
// turns on for routes with response_buffering. The upstream connection is
// released as soon as the whole body arrived, even while a slow client is
// still reading. Up to ResponseBufferSize waits in memory, more in a
// temporary file (removed at creation), up to ResponseTempFileSize; past
// that the upstream is read at the client's pace, as nginx does.
//
// Unlike nginx, what has arrived is handed to the client at once rather
// than when a buffer fills: streamed responses (event streams, long
// polls) keep working on buffered routes.
//
// The first Read reads the upstream directly: a body that arrives in one
// read (most responses) needs no goroutine, no copy and no file. A
// goroutine (fill) then owns the upstream body until its end, or until
// the request's context is canceled, which aborts its read.
type spool struct {
	src    io.ReadCloser
	s      *Server
	began  bool // the first Read happened (consumer side)
	direct bool // the body ended within the first Read

	mu   sync.Mutex
	cond sync.Cond
	// buf[head:tail] are bytes not yet read; when file is set, the bytes
	// in the file between rOff and wOff come after them.
	buf        []byte
	head, tail int
	file       *os.File
	noFile     bool // a temporary file could not be created
	rOff, wOff int64
	filled     bool  // fill is done: err says how
	err        error // io.EOF at the body's end
	closed     bool  // the consumer closed the body
}

// errSpoolClosed stops fill once the consumer closed the body.
var errSpoolClosed = errors.New("response body closed")

// buffered returns res's body behind a spool, or as is when there is
// nothing to buffer.
func (s *Server) buffered(res *http.Response) io.ReadCloser {
	if res.Body == nil || res.Body == http.NoBody || res.StatusCode == http.StatusSwitchingProtocols {
		return res.Body
	}
	sp := &spool{src: res.Body, s: s}
	sp.cond.L = &sp.mu
	return sp
}

// Read returns what has arrived, waiting only when nothing has.
func (sp *spool) Read(p []byte) (int, error) {
	if !sp.began {
		sp.began = true
		n, err := sp.src.Read(p)
		if err != nil {
			sp.direct = true
			sp.filled, sp.err = true, err
			// At its end, the connection goes back to the pool now.
			_ = sp.src.Close()
			return n, err
		}
		go sp.fill()
		return n, nil
	}
	if sp.direct {
		return 0, sp.err
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for {
		switch {
		case sp.head < sp.tail:
			n := copy(p, sp.buf[sp.head:sp.tail])
			if sp.head += n; sp.head == sp.tail {
				sp.head, sp.tail = 0, 0
			}
			sp.cond.Broadcast()
			return n, nil
		case sp.rOff < sp.wOff:
			off, n := sp.rOff, min(int64(len(p)), sp.wOff-sp.rOff)
			sp.mu.Unlock()
			// fill writes past wOff only, and truncates only once the
			// reader caught up: this range is stable.
			got, err := sp.file.ReadAt(p[:n], off)
			sp.mu.Lock()
			sp.rOff += int64(got)
			sp.cond.Broadcast()
			if err != nil && got == 0 {
				return 0, err
			}
			return got, nil
		case sp.filled:
			return 0, sp.err
		}
		sp.cond.Wait()
	}
}

// Close releases the body: the upstream's if fill never started, the
// file once fill is done.
func (sp *spool) Close() error {
	if !sp.began {
		sp.began, sp.direct, sp.filled, sp.err = true, true, true, errSpoolClosed
		return sp.src.Close()
	}
	if sp.direct {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return nil
	}
	sp.closed = true
	sp.cond.Broadcast()
	if sp.filled {
		sp.release()
	}
	return nil
}

// fill reads the upstream body into the spool until its end.
func (sp *spool) fill() {
	buf := sp.s.bufs.Get()
	defer sp.s.bufs.Put(buf)
	for {
		n, err := sp.src.Read(buf)
		if n > 0 && !sp.store(buf[:n]) {
			err = errSpoolClosed
		}
		if err != nil {
			_ = sp.src.Close()
			sp.mu.Lock()
			sp.filled, sp.err = true, err
			sp.cond.Broadcast()
			if sp.closed {
				sp.release()
			}
			sp.mu.Unlock()
			return
		}
	}
}

// store keeps b for the reader; false once the reader is gone.
func (sp *spool) store(b []byte) bool {
	l := &sp.s.limits
	sp.mu.Lock()
	// Past the file's bound, wait for the reader to catch up.
	for !sp.closed && sp.file != nil && sp.wOff >= l.ResponseTempFileSize && sp.rOff < sp.wOff {
		sp.cond.Wait()
	}
	if sp.closed {
		sp.mu.Unlock()
		return false
	}
	caughtUp := sp.rOff == sp.wOff
	if sp.file != nil && caughtUp && sp.wOff > 0 && sp.file.Truncate(0) == nil {
		// The reader read the whole file: start it over.
		sp.rOff, sp.wOff = 0, 0
	}
	if caughtUp && sp.tail-sp.head+len(b) <= l.ResponseBufferSize {
		sp.keep(b, l.ResponseBufferSize)
		sp.mu.Unlock()
		return true
	}
	if sp.file == nil && !sp.noFile {
		f, err := sp.s.tempFile("skyport-response-")
		if err != nil {
			sp.noFile = true
			sp.s.log.Warn("buffering a response: no temporary file, reading it at the client's pace", "error", err)
		}
		sp.file = f
	}
	if sp.file == nil {
		// Wait for room in memory: the client sets the pace.
		for !sp.closed && sp.head < sp.tail && sp.tail-sp.head+len(b) > l.ResponseBufferSize {
			sp.cond.Wait()
		}
		sp.keep(b, l.ResponseBufferSize)
		closed := sp.closed
		sp.mu.Unlock()
		return !closed
	}
	off := sp.wOff
	sp.mu.Unlock()
	n, err := sp.file.WriteAt(b, off)
	sp.mu.Lock()
	sp.wOff += int64(n)
	sp.cond.Broadcast()
	sp.mu.Unlock()
	if err != nil {
		sp.s.log.Error("buffering a response", "error", err)
		return false
	}
	return true
}

// keep appends b to the bytes in memory; mu held.
func (sp *spool) keep(b []byte, size int) {
	if sp.buf == nil {
		sp.buf = make([]byte, max(size, len(b)))
	}
	if sp.tail+len(b) > len(sp.buf) {
		n := copy(sp.buf, sp.buf[sp.head:sp.tail])
		sp.head, sp.tail = 0, n
		if n+len(b) > len(sp.buf) {
			grown := make([]byte, n+len(b))
			copy(grown, sp.buf[:n])
			sp.buf = grown
		}
	}
	sp.tail += copy(sp.buf[sp.tail:], b)
	sp.cond.Broadcast()
}

// release closes the file; mu held, fill done and the reader gone.
func (sp *spool) release() {
	if sp.file != nil {
		_ = sp.file.Close()
		sp.file = nil
	}
	sp.buf = nil
}
