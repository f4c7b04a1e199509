package proxy

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// LogWriter batches access log lines in memory and writes them to an
// io.Writer from a goroutine of its own, so that a request never waits on
// the log's destination (a pipe, a terminal, a slow disk). Lines are
// written at the latest every flush interval. When the destination falls
// behind by more than the buffer limit, new lines are dropped and counted
// rather than blocking requests.
type LogWriter struct {
	w     io.Writer
	limit int

	mu      sync.Mutex
	buf     []byte
	closed  bool
	dropped atomic.Uint64

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// Log writer defaults: a write is started once this many bytes are
// waiting, and the lines waiting are written at least every
// logFlushInterval.
const (
	logBatchSize     = 64 << 10
	logFlushInterval = 200 * time.Millisecond
	logBufferLimit   = 4 << 20
)

// NewLogWriter starts a LogWriter writing to w; Close stops it.
func NewLogWriter(w io.Writer) *LogWriter {
	l := &LogWriter{w: w, limit: logBufferLimit, buf: make([]byte, 0, logBatchSize),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// Write queues p, a whole line; it never blocks on the destination. A line
// that does not fit under the buffer limit is dropped (see Dropped) and
// Write still reports success, as a log must not fail a request.
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.closed || len(l.buf)+len(p) > l.limit {
		l.mu.Unlock()
		l.dropped.Add(1)
		return len(p), nil
	}
	l.buf = append(l.buf, p...)
	full := len(l.buf) >= logBatchSize
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Dropped is the number of lines dropped because the destination was too
// slow (or written after Close).
func (l *LogWriter) Dropped() uint64 { return l.dropped.Load() }

// Close writes the lines still waiting and stops the writer.
func (l *LogWriter) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	return nil
}

// run writes the batches until Close, then what is left.
func (l *LogWriter) run() {
	defer close(l.done)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	spare := make([]byte, 0, logBatchSize)
	for {
		open := true
		select {
		case <-t.C:
		case <-l.kick:
		case <-l.stop:
			open = false
		}
		l.mu.Lock()
		batch := l.buf
		l.buf = spare[:0]
		l.mu.Unlock()
		if len(batch) > 0 {
			// A failing destination loses this batch; the next one is tried
			// again.
			_, _ = l.w.Write(batch)
		}
		if !open {
			return
		}
		if cap(batch) > 4*logBatchSize {
			batch = make([]byte, 0, logBatchSize)
		}
		spare = batch
	}
}
