package hub

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// frameWatcher follows the frame headers of a client's byte stream and
// records whether any frame's payload exceeded the limit. The WebSocket
// library enforces the message limit but does not expose frames, so the
// hub watches them on the way in.
type frameWatcher struct {
	limit uint64

	mu        sync.Mutex
	header    []byte // the current frame header, while incomplete
	remaining uint64 // payload bytes left in the current frame
	exceeded  bool
}

// observe feeds bytes read from the client.
func (f *frameWatcher) observe(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(p) > 0 {
		if f.remaining > 0 {
			n := min(f.remaining, uint64(len(p)))
			f.remaining -= n
			p = p[n:]
			continue
		}
		f.header = append(f.header, p[0])
		p = p[1:]
		if size, ok := headerSize(f.header); ok && len(f.header) == size {
			f.remaining = payloadLength(f.header)
			if f.remaining > f.limit {
				f.exceeded = true
			}
			f.header = f.header[:0]
		}
	}
}

// tooBig reports whether a frame over the limit has been seen.
func (f *frameWatcher) tooBig() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exceeded
}

// headerSize is the full length of a frame header once its first two
// bytes are known (RFC 6455 section 5.2).
func headerSize(h []byte) (int, bool) {
	if len(h) < 2 {
		return 0, false
	}
	size := 2
	switch h[1] & 0x7f {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if h[1]&0x80 != 0 {
		size += 4 // masking key
	}
	return size, true
}

func payloadLength(h []byte) uint64 {
	switch n := h[1] & 0x7f; n {
	case 126:
		return uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		return binary.BigEndian.Uint64(h[2:10])
	default:
		return uint64(n)
	}
}

// watchedConn is a hijacked connection whose reads pass the watcher.
type watchedConn struct {
	net.Conn
	watch *frameWatcher
}

func (c watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.watch.observe(p[:n])
	return n, err
}

// watchingWriter hands the WebSocket library a watched connection when it
// hijacks the request's connection.
type watchingWriter struct {
	http.ResponseWriter
	watch *frameWatcher
}

func (w watchingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijacking the connection: %w", err)
	}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		w.watch.observe(b)
	}
	return watchedConn{Conn: nc, watch: w.watch}, brw, nil
}
