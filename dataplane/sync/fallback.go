package sync

import (
	"context"
	"errors"
	"time"

	"github.com/skyport-gw/skyport/dataplane/sync/backoff"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
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
	var last polled
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
			last = c.poll(ctx, last)
		}
		wait = backoff.Jitter(c.cfg.FallbackPoll, pollJitter, nil)
	}
}

// polled is the pointer the last poll read and latest.json's ETag then.
type polled struct {
	etag string
	ptr  snapshot.Pointer
}

// poll reads latest.json, conditionally on the ETag it had at the last
// poll (so an unchanged pointer costs no body), and queues the revision
// it names; an unchanged pointer's revision is queued again, so a fetch
// that failed is retried. It returns what the next poll starts from.
func (c *Client) poll(ctx context.Context, last polled) polled {
	p, etag, err := c.readPointerIfChanged(ctx, last.etag)
	switch {
	case errors.Is(err, objstore.ErrNotModified):
		c.log.Debug("fallback pointer unchanged", "revision", last.ptr.Revision)
		p, etag = last.ptr, last.etag
	case errors.Is(err, objstore.ErrNotFound):
		c.log.Debug("fallback has nothing published yet")
		return polled{}
	case err != nil:
		if ctx.Err() == nil {
			c.log.Warn("fallback unreachable", "error", err)
			c.state.setError(err)
		}
		return last
	}
	c.submit(job{ptr: p, source: SourceFallback, delta: pointerDelta(p)})
	return polled{etag: etag, ptr: p}
}
