// Package backoff holds the timing policies of a data plane's connection to
// the control plane: jittered exponential backoff after failures, and the
// schedule of a connection's life (heartbeats, and a planned reconnect
// before API Gateway's two-hour cap).
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is exponential backoff with full jitter: the n-th retry waits a
// uniformly random duration in [0, min(Cap, Base·2ⁿ)].
type Policy struct {
	// Base is the ceiling of the first retry's delay.
	Base time.Duration
	// Cap bounds every delay.
	Cap time.Duration
}

// Default is the policy for reconnecting to the control plane: API
// Gateway's account-wide limit of new connections a second makes a fleet
// that retries in lockstep a problem, hence full jitter.
var Default = Policy{Base: time.Second, Cap: time.Minute}

// Ceiling returns the largest delay the attempt-th retry (from 0) may draw.
func (p Policy) Ceiling(attempt int) time.Duration {
	if p.Base <= 0 || p.Cap <= 0 {
		return 0
	}
	d := p.Base
	for i := 0; i < attempt && d < p.Cap; i++ {
		d *= 2
	}
	return min(d, p.Cap)
}

// Delay draws the attempt-th retry's delay from r (a nil r uses the
// global source).
func (p Policy) Delay(attempt int, r *rand.Rand) time.Duration {
	return uniform(p.Ceiling(attempt), r)
}

// Jitter returns d moved by a random fraction in [-frac, +frac] of itself,
// so periodic work from many nodes spreads out.
func Jitter(d time.Duration, frac float64, r *rand.Rand) time.Duration {
	if d <= 0 || frac <= 0 {
		return d
	}
	spread := time.Duration(float64(d) * frac)
	return d - spread + uniform(2*spread, r)
}

// uniform draws a duration in [0, ceiling].
func uniform(ceiling time.Duration, r *rand.Rand) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	if r == nil {
		return rand.N(ceiling + 1)
	}
	return time.Duration(r.Int64N(int64(ceiling) + 1))
}
