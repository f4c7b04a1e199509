package counters

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// FailureLog logs a store's failures at most once per interval, with the
// number left out since the last line, so an unreachable store does not
// log once per request. It is safe for concurrent use.
type FailureLog struct {
	log     *slog.Logger
	every   time.Duration
	last    atomic.Int64 // Unix nanoseconds of the last line
	skipped atomic.Int64
}

// NewFailureLog returns a log writing to log (discarded when nil) at most
// once per every.
func NewFailureLog(log *slog.Logger, every time.Duration) *FailureLog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FailureLog{log: log, every: every}
}

// Error logs msg with args, or counts it when a line was written less
// than the interval ago.
func (f *FailureLog) Error(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := f.last.Load()
	if now-last < int64(f.every) || !f.last.CompareAndSwap(last, now) {
		f.skipped.Add(1)
		return
	}
	if n := f.skipped.Swap(0); n > 0 {
		args = append(args, "failures_not_logged", n)
	}
	f.log.Error(msg, args...)
}
