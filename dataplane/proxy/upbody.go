package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// bodyReadError is a failure reading the request body the client sends:
// the client's fault, which the proxy answers itself (clientFault).
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// bodyBufs holds the buffers request bodies are streamed with.
var bodyBufs bufferPool

// sendBody streams the request body on pc, then closes pc.wdone. A body
// that cannot be read, or an upstream that takes nothing for the write
// timeout, closes the connection: the upstream would wait for the rest,
// or the reader for an answer that is not coming. Another write error
// leaves the connection to the reader, who may find the upstream's
// answer (an upstream may answer and close before it read the body).
func (pc *h1Conn) sendBody(req *http.Request, body io.Reader, length int64) {
	buf := bodyBufs.Get()
	err := writeBody(pc.conn, body, length, req, buf)
	bodyBufs.Put(buf)
	pc.wmu.Lock()
	pc.werr = err
	pc.wmu.Unlock()
	var rerr *bodyReadError
	if err != nil && (errors.As(err, &rerr) || isTimeout(err)) {
		pc.conn.Close()
	}
	close(pc.wdone)
}

// sendFailure is the failure that ended the body's streaming, when it
// explains a failed exchange: the client's body (its own error, which
// the proxy answers as the client's fault) or a write timeout; nil
// otherwise, or while the body is still streaming.
func (pc *h1Conn) sendFailure() error {
	if pc.wdone == nil {
		return nil
	}
	pc.wmu.Lock()
	err := pc.werr
	pc.wmu.Unlock()
	if rerr := (*bodyReadError)(nil); errors.As(err, &rerr) {
		return rerr.err
	}
	if err != nil && isTimeout(err) {
		return err
	}
	return nil
}

// sentWait bounds how long a connection whose response ended waits for
// its request body's last write before it is closed rather than reused
// (http.Transport waits as long).
const sentWait = 50 * time.Millisecond

// sent reports whether the request's body, if streamed, was written
// whole; the response having ended, its last write is waited for
// briefly.
func (pc *h1Conn) sent() bool {
	if pc.wdone == nil {
		return true
	}
	select {
	case <-pc.wdone:
	default:
		t := time.NewTimer(sentWait)
		defer t.Stop()
		select {
		case <-pc.wdone:
		case <-t.C:
			return false
		}
	}
	pc.wmu.Lock()
	defer pc.wmu.Unlock()
	return pc.werr == nil
}

// writeBody writes body to w: length bytes exactly, or chunked (length
// -1) with req's trailer fields as they are at the body's end. Every read
// is written at once: the body streams.
func writeBody(w io.Writer, body io.Reader, length int64, req *http.Request, buf []byte) error {
	if length >= 0 {
		var sent int64
		for sent < length {
			p := buf
			if left := length - sent; int64(len(p)) > left {
				p = p[:left]
			}
			n, rerr := body.Read(p)
			if n > 0 {
				if _, err := w.Write(p[:n]); err != nil {
					return err
				}
				sent += int64(n)
			}
			if rerr == io.EOF && sent < length {
				rerr = fmt.Errorf("body ended after %d of %d bytes: %w", sent, length, io.ErrUnexpectedEOF)
			}
			if rerr != nil && rerr != io.EOF {
				return &bodyReadError{rerr}
			}
			if rerr == io.EOF {
				break
			}
		}
		return nil
	}
	// A chunk is read into buf after room for its size line and written
	// with it and its CRLF at once.
	const room = 10
	for {
		n, rerr := body.Read(buf[room : len(buf)-2])
		if n > 0 {
			var size [16]byte
			hex := strconv.AppendInt(size[:0], int64(n), 16)
			start := room - len(hex) - 2
			copy(buf[start:], hex)
			buf[room-2], buf[room-1] = '\r', '\n'
			buf[room+n], buf[room+n+1] = '\r', '\n'
			if _, err := w.Write(buf[start : room+n+2]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return &bodyReadError{rerr}
		}
	}
	last := append(buf[:0], "0\r\n"...)
	for k, vv := range req.Trailer {
		if !validFieldName(k) {
			continue
		}
		for _, v := range vv {
			last = appendField(last, k, v)
		}
	}
	last = append(last, "\r\n"...)
	_, err := w.Write(last)
	return err
}

// appendTrailerNames appends the Trailer field announcing trt's names,
// sorted, as Request.Write does.
func appendTrailerNames(b []byte, trt http.Header) ([]byte, error) {
	keys := make([]string, 0, len(trt))
	for k := range trt {
		k = http.CanonicalHeaderKey(k)
		switch k {
		case "Transfer-Encoding", "Trailer", "Content-Length":
			return b, fmt.Errorf("invalid Trailer key %q", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, "Trailer: "...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
	}
	return append(b, "\r\n"...), nil
}
