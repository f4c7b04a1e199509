package publisher

import (
	"context"
	"time"
)

// Runner drives a Publisher from in-process commit notifications, for
// `skyport local`: kicks coalesce, so a burst of commits makes one or two
// publications, never a queue; a failed publication is retried with
// backoff until it succeeds or the next kick arrives.
type Runner struct {
	p    *Publisher
	kick chan struct{}
	// maxBackoff bounds the pause between retries of a failed publication.
	maxBackoff time.Duration
}

// NewRunner returns a Runner for p.
func NewRunner(p *Publisher) *Runner {
	return &Runner{p: p, kick: make(chan struct{}, 1), maxBackoff: 10 * time.Second}
}

// Kick asks for a publication; it never blocks. It fits the embedded
// store's OnCommit callback: store.OnCommit(func(int64) { r.Kick() }).
func (r *Runner) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run publishes once at start (to catch up with commits made while
// nothing ran), then after every kick, until ctx is done.
func (r *Runner) Run(ctx context.Context) error {
	r.Kick()
	backoff := 100 * time.Millisecond
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.kick:
		case <-retry:
		}
		retry = nil
		if _, err := r.p.Publish(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.p.opts.Logger.ErrorContext(ctx, "publishing", "error", err, "retry_in", backoff)
			retry = time.After(backoff)
			backoff = min(2*backoff, r.maxBackoff)
			continue
		}
		backoff = 100 * time.Millisecond
	}
}
