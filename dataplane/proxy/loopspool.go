package proxy

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
)

// loopSpool is spool for a request served on an event loop: the upstream
// connection is the loop's, which only the connection's own task may
// read, so no goroutine fills it. The task fills it itself, in Read:
// while the upstream has bytes ready (the connection's buffer or the
// loop's Conn says a read would not wait: h1Body.readReady), it reads
// them into memory up to ResponseBufferSize, then into a temporary file
// (removed at creation) up to ResponseTempFileSize; at the body's end it
// closes the upstream body, which returns the connection to its loop's
// pool, and the client gets the rest at its pace. Past the bounds (or
// without a temporary file) the rest is read from the upstream at the
// client's pace, as spool does.
//
// One task cannot wait on the upstream and the client at once, so while
// the upstream body is open Read never waits on the client: when the
// next upstream read would wait, Read returns what has arrived, as much
// as the client's connection takes without waiting (Conn.WriteRoom), so
// trickling bodies and long polls reach the client as they come, as with
// spool and nginx's proxy_buffering. When the client takes nothing more
// (a slow client) or nothing is held, Read waits on the upstream instead
// and spools what comes: a fast upstream is freed early from a slow
// client. What arrived just before the upstream pauses while the
// client's connection is full waits for the upstream's next bytes or its
// end. Event streams are not spooled on a loop (decorate). The temporary
// file's reads and writes block the loop; the disk is accepted as short,
// as the access log's lock is.
type loopSpool struct {
	// src is the upstream body while the spool fills from it: nil once
	// it ended, failed or was closed, or the bounds left it to rest.
	src io.ReadCloser
	// rr tells whether a read of src would not wait; nil when src cannot
	// tell, which makes every fill stop after one read.
	rr readReadier
	// client tells how much the client's connection takes without
	// waiting; nil when it cannot tell, which hands over what arrived
	// at once.
	client writeRoomer
	s      *Server

	// mem[head:] are bytes not yet read; the file's bytes between rOff
	// and wOff come after them, then src's or rest's.
	mem        []byte
	head       int
	file       *os.File
	rOff, wOff int64
	// rest is the upstream body when the bounds stopped the fill: read
	// at the client's pace after the spooled bytes.
	rest io.ReadCloser
	// err ended the fill (io.EOF at the body's end), returned once the
	// spooled bytes are read.
	err error
}

// readReadier is a body that tells whether its next Read would wait for
// the upstream (h1Body).
type readReadier interface{ readReady() bool }

// writeRoomer is a connection that tells about how many bytes a Write
// would take without waiting (an event loop's Conn).
type writeRoomer interface{ WriteRoom() int }

// roomMargin is kept from what the client's connection takes, for the
// response head and the chunks' framing written with the body.
const roomMargin = 1 << 10

// loopBuffered returns res's body behind a loopSpool, or as is when there
// is nothing to buffer; client is the client's connection.
func (s *Server) loopBuffered(res *http.Response, client writeRoomer) io.ReadCloser {
	if res.Body == nil || res.Body == http.NoBody || res.StatusCode == http.StatusSwitchingProtocols {
		return res.Body
	}
	rr, _ := res.Body.(readReadier)
	return &loopSpool{src: res.Body, rr: rr, client: client, s: s}
}

// eventStreamResponse reports whether res's body is an event stream by
// its Content-Type, as copyBody reads it.
func eventStreamResponse(res *http.Response) bool {
	ct := res.Header["Content-Type"]
	return len(ct) > 0 && eventStream(ct[0])
}

// Read returns the spooled bytes. While the upstream body is open it
// first spools what the upstream has ready, and returns only what the
// client takes without waiting; with nothing to return it waits on the
// upstream.
func (sp *loopSpool) Read(p []byte) (int, error) {
	for sp.src != nil {
		held := sp.held()
		if held == 0 {
			// Straight into p: a body that ends within one read (most
			// do), or that comes in pieces the client takes, is not
			// copied.
			n, err := sp.src.Read(p)
			if err != nil {
				sp.end(err)
				return n, err
			}
			if !sp.ready() && n <= sp.room() {
				return n, nil
			}
			if sp.keep(p[:n], nil) {
				sp.fill(false)
			}
			continue
		}
		room := sp.room()
		if room > 0 && !sp.ready() {
			p = p[:min(len(p), room)]
			break
		}
		sp.fill(room == 0)
	}
	switch {
	case sp.head < len(sp.mem):
		n := copy(p, sp.mem[sp.head:])
		if sp.head += n; sp.head == len(sp.mem) {
			sp.head = 0
			if sp.mem = sp.mem[:0]; sp.src == nil {
				sp.mem = nil
			}
		}
		return n, nil
	case sp.rOff < sp.wOff:
		n := min(int64(len(p)), sp.wOff-sp.rOff)
		got, err := sp.file.ReadAt(p[:n], sp.rOff)
		sp.rOff += int64(got)
		if sp.rOff == sp.wOff {
			sp.closeFile()
		}
		if got == 0 && err != nil {
			return 0, fmt.Errorf("reading a buffered response: %w", err)
		}
		return got, nil
	case sp.rest != nil:
		return sp.rest.Read(p)
	}
	return 0, sp.err
}

// held is how many spooled bytes are not read yet.
func (sp *loopSpool) held() int64 { return int64(len(sp.mem)-sp.head) + sp.wOff - sp.rOff }

// ready reports whether a read of src would not wait.
func (sp *loopSpool) ready() bool { return sp.rr != nil && sp.rr.readReady() }

// room is how many bytes the client's connection takes without waiting,
// less roomMargin.
func (sp *loopSpool) room() int {
	if sp.client == nil {
		return math.MaxInt
	}
	return max(0, sp.client.WriteRoom()-roomMargin)
}

// end closes src, which ended (or failed) with err.
func (sp *loopSpool) end(err error) {
	sp.err = err
	_ = sp.src.Close()
	sp.src = nil
}

// fill reads the upstream body into the spool while a read would not
// wait (the first read waits all the same when wait), until the body's
// end or the bounds.
func (sp *loopSpool) fill(wait bool) {
	bp := sp.s.bufs.get()
	defer sp.s.bufs.put(bp)
	for wait || sp.ready() {
		wait = false
		n, rerr := sp.src.Read(*bp)
		if !sp.keep((*bp)[:n], rerr) {
			return
		}
	}
}

// keep stores b, read from src with rerr; open is false once src is no
// longer the spool's to fill: it ended or failed, or a bound left it to
// rest.
func (sp *loopSpool) keep(b []byte, rerr error) (open bool) {
	more, err := sp.store(b)
	switch {
	case err != nil:
		// What was not stored cannot come after what was: the body
		// ends short.
		sp.end(err)
	case rerr != nil:
		sp.end(rerr)
	case !more:
		// A bound: the rest comes at the client's pace.
		sp.rest, sp.src = sp.src, nil
	default:
		return true
	}
	return false
}

// store keeps b after the bytes stored; more is false once a bound is
// reached (b is kept all the same, past the bound by one read at most).
func (sp *loopSpool) store(b []byte) (more bool, err error) {
	l := &sp.s.limits
	if len(b) == 0 {
		return true, nil
	}
	if sp.file == nil && len(sp.mem)+len(b) <= l.ResponseBufferSize {
		if sp.mem == nil {
			sp.mem = make([]byte, 0, l.ResponseBufferSize)
		}
		sp.mem = append(sp.mem, b...)
		return true, nil
	}
	if sp.file == nil {
		f, err := sp.s.tempFile("skyport-response-")
		if err != nil {
			sp.s.log.Warn("buffering a response: no temporary file, reading it at the client's pace", "error", err)
			sp.mem = append(sp.mem, b...)
			return false, nil
		}
		sp.file = f
	}
	n, err := sp.file.WriteAt(b, sp.wOff)
	sp.wOff += int64(n)
	if err != nil {
		sp.s.log.Error("buffering a response", "error", err)
		return false, fmt.Errorf("buffering a response: %w", err)
	}
	return sp.wOff < l.ResponseTempFileSize, nil
}

// Close releases the body: the upstream's when it is still held, the
// temporary file.
func (sp *loopSpool) Close() error {
	sp.closeFile()
	sp.mem, sp.head = nil, 0
	held := sp.src
	if held == nil {
		held = sp.rest
	}
	sp.src, sp.rest = nil, nil
	if held == nil {
		if sp.err == nil {
			sp.err = errSpoolClosed
		}
		return nil
	}
	sp.err = errSpoolClosed
	return held.Close()
}

// closeFile closes the temporary file, read whole or no longer wanted.
func (sp *loopSpool) closeFile() {
	if sp.file != nil {
		_ = sp.file.Close()
		sp.file = nil
		sp.rOff, sp.wOff = 0, 0
	}
}
