package hub

import (
	"sync"
	"time"
)

// DefaultAcceptRate is how many new connections a second the hub accepts:
// API Gateway's default quota of new WebSocket connections per second
// (500, per account and Region, adjustable). Beyond it an upgrade is
// refused with 429, as API Gateway throttles it, and data planes retry
// with jittered backoff.
const DefaultAcceptRate = 500

// acceptLimiter is a token bucket of upgrades that never lets more than
// rate through in any one second: it refills at 90 % of rate and holds at
// most 10 % of rate (the burst), so refill plus burst stay within rate.
type acceptLimiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newAcceptLimiter(rate int, now time.Time) *acceptLimiter {
	burst := max(float64(rate)/10, 1)
	return &acceptLimiter{rate: float64(rate) - burst, burst: burst, tokens: burst, last: now}
}

// allow takes a token at now; false when none is left.
func (l *acceptLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := now.Sub(l.last); d > 0 {
		l.tokens = min(l.burst, l.tokens+d.Seconds()*l.rate)
		l.last = now
	}
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
