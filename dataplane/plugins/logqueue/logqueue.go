// Package logqueue delivers log entries off the request path, as Kong's
// queues do (kong/tools/queue.lua): a request adds an entry and returns at
// once; one goroutine per queue takes batches of up to max_batch_size
// entries, waits up to max_coalescing_delay for a batch to fill, and
// hands it to the plugin's sender, retrying a failed batch with
// exponential backoff (initial_retry_delay doubling up to
// max_retry_delay) until max_retry_time has passed, then dropping it.
// The queue holds at most max_entries entries (and max_bytes bytes when
// set): a full queue drops its oldest entry, as Kong's does. With
// concurrency_limit -1 batches are delivered in parallel (at most
// MaxConcurrent at once), unordered, as Kong's timers deliver them. Drops and
// failures are counted in Metrics, which the status listener's /metrics
// exports.
package logqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Params are Kong's queue parameters (the plugins' config.queue).
type Params struct {
	MaxBatchSize       int           // entries per batch, ≥ 1
	MaxCoalescingDelay time.Duration // how long a partial batch waits
	MaxEntries         int           // entries held, ≥ 1
	MaxBytes           int           // bytes held; 0 for no limit
	// MaxRetryTime bounds the retries of a failing batch; negative for
	// no retry.
	MaxRetryTime      time.Duration
	InitialRetryDelay time.Duration
	MaxRetryDelay     time.Duration
	// Concurrent, Kong's concurrency_limit -1, delivers batches in
	// parallel (up to MaxConcurrent at once) instead of one after the
	// other.
	Concurrent bool
}

// MaxConcurrent bounds the deliveries running at once with Concurrent.
const MaxConcurrent = 64

// Config is the queue record of a plugin's configuration, in Kong's
// units (seconds).
type Config struct {
	MaxBatchSize       int     `json:"max_batch_size"`
	MaxCoalescingDelay float64 `json:"max_coalescing_delay"`
	MaxEntries         int     `json:"max_entries"`
	MaxBytes           *int    `json:"max_bytes"`
	MaxRetryTime       float64 `json:"max_retry_time"`
	InitialRetryDelay  float64 `json:"initial_retry_delay"`
	MaxRetryDelay      float64 `json:"max_retry_delay"`
	ConcurrencyLimit   int     `json:"concurrency_limit"`
}

// Params converts c to Params.
func (c Config) Params() Params {
	p := Params{MaxBatchSize: max(c.MaxBatchSize, 1), MaxEntries: max(c.MaxEntries, 1),
		MaxCoalescingDelay: seconds(c.MaxCoalescingDelay), MaxRetryTime: seconds(c.MaxRetryTime),
		InitialRetryDelay: seconds(c.InitialRetryDelay), MaxRetryDelay: seconds(c.MaxRetryDelay),
		Concurrent: c.ConcurrencyLimit == -1}
	if c.MaxBytes != nil {
		p.MaxBytes = *c.MaxBytes
	}
	return p
}

// LegacyParams is Params with the deprecated queue_size and
// flush_timeout of http-log, statsd and datadog applied as Kong applies
// them: each only where its queue counterpart is left at its default
// (max_batch_size 1, max_coalescing_delay 1).
func (c Config) LegacyParams(queueSize *int, flushTimeout *float64) Params {
	p := c.Params()
	if queueSize != nil && *queueSize > 1 && p.MaxBatchSize == 1 {
		p.MaxBatchSize = *queueSize
	}
	if flushTimeout != nil && c.MaxCoalescingDelay == 1 {
		p.MaxCoalescingDelay = seconds(*flushTimeout)
	}
	return p
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Sender delivers one batch; an error makes the queue retry it.
type Sender func(ctx context.Context, batch [][]byte) error

// CloseTimeout bounds how long Close spends delivering what is queued.
const CloseTimeout = 5 * time.Second

// Queue is one plugin instance's queue.
type Queue struct {
	p    Params
	send Sender
	c    *counters
	log  *slog.Logger

	mu      sync.Mutex
	entries [][]byte
	bytes   int
	started bool
	closed  bool

	wake    chan struct{}
	closing chan struct{}
	done    chan struct{}
}

// New returns a queue for the named plugin. Its goroutine starts with the
// first entry; Close stops it.
func New(plugin string, p Params, send Sender, m *Metrics, log *slog.Logger) *Queue {
	if log == nil {
		log = slog.Default()
	}
	return &Queue{p: p, send: send, c: m.counters(plugin), log: log.With("plugin", plugin),
		wake: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{})}
}

// ErrClosed is returned by Add on a closed queue.
var ErrClosed = errors.New("log queue closed")

// ErrTooLarge is returned by Add for an entry larger than max_bytes.
var ErrTooLarge = errors.New("log entry larger than the queue's max_bytes")

// Add queues entry without blocking. A full queue drops its oldest entry
// to make room; the drop is counted.
func (q *Queue) Add(entry []byte) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		q.c.dropped.Inc()
		return ErrClosed
	}
	if q.p.MaxBytes > 0 && len(entry) > q.p.MaxBytes {
		q.mu.Unlock()
		q.c.dropped.Inc()
		return ErrTooLarge
	}
	dropped := 0
	for len(q.entries) >= q.p.MaxEntries || (q.p.MaxBytes > 0 && q.bytes+len(entry) > q.p.MaxBytes) {
		q.bytes -= len(q.entries[0])
		q.entries[0] = nil
		q.entries = q.entries[1:]
		dropped++
	}
	q.entries = append(q.entries, entry)
	q.bytes += len(entry)
	if !q.started {
		q.started = true
		go q.run()
	}
	// The goroutine waits for a first entry (to start the coalescing
	// delay) or a full batch; waking it for every entry would cost a
	// goroutine switch per request.
	n := len(q.entries)
	q.mu.Unlock()
	if dropped > 0 {
		q.c.dropped.Add(float64(dropped))
	}
	if n == 1 || n >= q.p.MaxBatchSize {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Len returns the number of entries waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries)
}

// Close stops accepting entries, delivers those queued (one attempt per
// batch, within CloseTimeout) and waits for the queue's goroutine.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	started := q.started
	q.mu.Unlock()
	close(q.closing)
	if !started {
		return nil
	}
	select {
	case <-q.done:
		return nil
	case <-time.After(CloseTimeout + time.Second):
		return fmt.Errorf("log queue: %d entries not delivered on close", q.Len())
	}
}

// run is the queue's goroutine: it delivers batches until the queue is
// closed and empty.
func (q *Queue) run() {
	defer close(q.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-q.closing:
			t := time.NewTimer(CloseTimeout)
			defer t.Stop()
			select {
			case <-t.C:
				cancel()
			case <-ctx.Done():
			}
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, MaxConcurrent)
	for {
		batch, ok := q.next()
		if !ok {
			return
		}
		if !q.p.Concurrent {
			q.deliver(ctx, batch)
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			q.deliver(ctx, batch)
		})
	}
}

// next waits for a batch: max_batch_size entries, or fewer once
// max_coalescing_delay has passed since the first one was seen (or the
// queue is closing). ok is false once the queue is closed and empty.
func (q *Queue) next() (batch [][]byte, ok bool) {
	var timer *time.Timer
	var deadline <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	expired := false
	for {
		q.mu.Lock()
		n, closed := len(q.entries), q.closed
		if n >= q.p.MaxBatchSize || (n > 0 && (closed || expired || q.p.MaxCoalescingDelay <= 0)) {
			batch = q.take(min(n, q.p.MaxBatchSize))
			q.mu.Unlock()
			return batch, true
		}
		q.mu.Unlock()
		if n == 0 && closed {
			return nil, false
		}
		if n > 0 && timer == nil {
			timer = time.NewTimer(q.p.MaxCoalescingDelay)
			deadline = timer.C
		}
		select {
		case <-q.wake:
		case <-q.closing:
		case <-deadline:
			expired = true
		}
	}
}

// take removes the first k entries; q.mu is held.
func (q *Queue) take(k int) [][]byte {
	batch := make([][]byte, k)
	copy(batch, q.entries[:k])
	for i := range k {
		q.bytes -= len(q.entries[i])
		q.entries[i] = nil
	}
	q.entries = q.entries[k:]
	if len(q.entries) == 0 {
		q.entries = nil // let the backing array go
	}
	return batch
}

// deliver sends batch, retrying with backoff within max_retry_time; a
// batch that cannot be delivered is dropped and counted.
func (q *Queue) deliver(ctx context.Context, batch [][]byte) {
	start := time.Now()
	delay := q.p.InitialRetryDelay
	for attempt := 1; ; attempt++ {
		err := q.safeSend(ctx, batch)
		if err == nil {
			q.c.sent.Add(float64(len(batch)))
			return
		}
		giveUp := q.p.MaxRetryTime < 0 || time.Since(start)+delay > q.p.MaxRetryTime || q.isClosing()
		if giveUp {
			q.c.failed.Add(float64(len(batch)))
			q.log.Error("log batch dropped", "entries", len(batch), "attempts", attempt, "error", err)
			return
		}
		q.log.Warn("log batch failed; retrying", "entries", len(batch), "attempt", attempt,
			"retry_in", delay, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-q.closing:
			t.Stop()
		}
		delay = min(delay*2, q.p.MaxRetryDelay)
	}
}

func (q *Queue) isClosing() bool {
	select {
	case <-q.closing:
		return true
	default:
		return false
	}
}

// safeSend calls the sender, turning a panic into an error.
func (q *Queue) safeSend(ctx context.Context, batch [][]byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("log sender panicked: %v", p)
		}
	}()
	return q.send(ctx, batch)
}

// StreamParams are the queue parameters of the loggers Kong runs without
// a queue (file-log, tcp-log, udp-log, syslog): up to 10000 entries
// waiting, delivered at once in batches of up to 100, a failed batch
// dropped and counted (their senders retry a stale connection
// themselves).
func StreamParams() Params {
	return Params{MaxBatchSize: 100, MaxEntries: 10000, MaxRetryTime: -1,
		InitialRetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond}
}

// Lines joins entries into one buffer, each followed by a newline.
func Lines(batch [][]byte) []byte {
	n := 0
	for _, e := range batch {
		n += len(e) + 1
	}
	out := make([]byte, 0, n)
	for _, e := range batch {
		out = append(out, e...)
		out = append(out, '\n')
	}
	return out
}

// entryCap is the capacity of the buffers Buffer hands out: room for a
// typical log record, so that encoding one rarely grows it.
const entryCap = 2 << 10

// maxPooled bounds the buffers Release keeps: an unusually large entry
// is left to the garbage collector.
const maxPooled = 64 << 10

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, entryCap); return &b }}

// Buffer returns an empty buffer to encode an entry into, reused from
// delivered batches a sender has released.
func Buffer() []byte { return (*buffers.Get().(*[]byte))[:0] }

// Release returns the entries of a delivered batch to Buffer's pool. A
// sender may call it once nothing (not even its transport) reads the
// entries any more; the queue does not read a batch after its sender
// returned nil.
func Release(batch [][]byte) {
	for i, e := range batch {
		if cap(e) <= maxPooled {
			e = e[:0]
			buffers.Put(&e)
		}
		batch[i] = nil
	}
}
