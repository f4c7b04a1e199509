package httplog

import (
	"io"
	"sync/atomic"
)

// batchBody reads a batch as the request body: the entry itself for a
// batch of one sent bare, else a JSON array of the entries, without
// copying them into one buffer. closed tells the sender when the
// transport is done with the entries.
type batchBody struct {
	parts  [][]byte
	size   int
	closed atomic.Bool
}

var (
	arrayStart = []byte("[")
	arraySep   = []byte(",")
	arrayEnd   = []byte("]")
)

func newBatchBody(batch [][]byte, array bool) *batchBody {
	if !array {
		return &batchBody{parts: [][]byte{batch[0]}, size: len(batch[0])}
	}
	b := &batchBody{parts: make([][]byte, 0, 2*len(batch)+1)}
	b.parts = append(b.parts, arrayStart)
	for i, e := range batch {
		if i > 0 {
			b.parts = append(b.parts, arraySep)
		}
		b.parts = append(b.parts, e)
	}
	b.parts = append(b.parts, arrayEnd)
	for _, p := range b.parts {
		b.size += len(p)
	}
	return b
}

func (b *batchBody) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(b.parts) > 0 {
		c := copy(p[n:], b.parts[0])
		n += c
		if b.parts[0] = b.parts[0][c:]; len(b.parts[0]) == 0 {
			b.parts[0] = nil
			b.parts = b.parts[1:]
		}
	}
	if n == 0 && len(b.parts) == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (b *batchBody) Close() error {
	b.closed.Store(true)
	return nil
}
