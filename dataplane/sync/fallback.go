package sync

import (
	"context"
	"errors"
	"time"

	"github.com/skyport-gw/skyport/dataplane/sync/backoff"
	"github.com/skyport-gw/skyport/internal/objstore"
)

// pollJitter spreads a fleet's fallback polls.
const pollJitter = 0.2

// runFallback polls the fallback store while the control plane is
// unreachable: at once when it becomes unreachable (or at boot without
// one), then every FallbackPoll, jittered.
func (c *Client) runFallback(ctx context.Context) {
	wait := backoff.Jitter(c.cfg.FallbackPoll, pollJitter, nil)
	if c.cfg.CPURL == "" {
		wait = 0
	}
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-c.down:
			timer.Stop()
		case <-timer.C:
		}
		if !c.connected() {
			c.poll(ctx)
		}
		wait = backoff.Jitter(c.cfg.FallbackPoll, pollJitter, nil)
	}
}

// poll reads latest.json and queues the revision it names.
func (c *Client) poll(ctx context.Context) {
	p, err := c.readPointer(ctx)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		c.log.Debug("fallback has nothing published yet")
		return
	case err != nil:
		if ctx.Err() == nil {
			c.log.Warn("fallback unreachable", "error", err)
			c.state.setError(err)
		}
		return
	}
	c.submit(job{ptr: p, source: SourceFallback})
}
