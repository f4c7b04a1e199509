package certs

import (
	"sync"
	"time"
)

// bucket is a token bucket: size tokens, refilled at size per period.
type bucket struct {
	mu     sync.Mutex
	size   float64
	rate   float64 // tokens per nanosecond
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(size int, period time.Duration, now func() time.Time) *bucket {
	return &bucket{size: float64(size), rate: float64(size) / float64(period), tokens: float64(size), last: now(), now: now}
}

// take spends a token; false when none is left.
func (b *bucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.tokens = min(b.size, b.tokens+float64(now.Sub(b.last))*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
