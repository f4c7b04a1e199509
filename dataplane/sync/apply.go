package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// Errors of an apply attempt, beside the snapshot package's verification
// errors (snapshot.ErrSignature, snapshot.ErrDigest, …).
var (
	// ErrNotNewer: the revision is not newer than the running one.
	ErrNotNewer = errors.New("revision not newer than the running one")
	// ErrFetch: the snapshot could not be fetched; unlike the other
	// errors it may pass, so the revision is tried again when announced.
	ErrFetch = errors.New("fetching snapshot")
	// ErrApply: the proxy refused to compile the configuration.
	ErrApply = errors.New("applying configuration")
)

// submit queues an announced revision unless it is not newer than the
// running one or was rejected already.
func (c *Client) submit(j job) {
	cur, _ := c.applier.Current()
	switch {
	case j.ptr.Revision <= cur:
		c.log.Debug("announced revision not newer; ignored", "revision", j.ptr.Revision, "running", cur, "source", j.source)
	case c.state.isRefused(j.ptr):
		c.log.Debug("announced snapshot rejected before; ignored", "revision", j.ptr.Revision, "sha256", j.ptr.SHA256, "source", j.source)
	default:
		c.queue.offer(j)
	}
}

// runApplier applies queued jobs one at a time until ctx is done.
func (c *Client) runApplier(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.queue.wake:
		}
		for j, ok := c.queue.take(); ok; j, ok = c.queue.take() {
			c.attempt(ctx, j)
		}
	}
}

// attempt applies j and reports the outcome to the control plane.
func (c *Client) attempt(ctx context.Context, j job) {
	err := c.apply(ctx, j)
	rev := j.ptr.Revision
	switch {
	case errors.Is(err, ErrNotNewer):
		c.log.Debug("snapshot not newer; ignored", "revision", rev, "source", j.source)
		return
	case ctx.Err() != nil:
		return
	case err != nil:
		c.log.Warn("snapshot rejected", "revision", rev, "source", j.source, "error", err)
		c.state.rejected(j.ptr, err, !errors.Is(err, ErrFetch))
	default:
		// The proxy logs the apply itself, with what it compiled.
		c.log.Debug("snapshot applied", "revision", rev, "source", j.source)
	}
	c.sendStatus(ctx)
}

// apply fetches, verifies, applies and caches j's snapshot. Any error
// leaves the running configuration and the cache as they were.
func (c *Client) apply(ctx context.Context, j job) error {
	rev := j.ptr.Revision
	if cur, _ := c.applier.Current(); rev <= cur {
		return fmt.Errorf("revision %d: %w (running %d)", rev, ErrNotNewer, cur)
	}
	if err := j.ptr.Check(); err != nil {
		return fmt.Errorf("announced revision %d: %w", rev, err)
	}
	data, err := c.fetch(ctx, j)
	if errors.Is(err, snapshot.ErrSize) {
		return fmt.Errorf("verifying revision %d: %w", rev, err)
	}
	if err != nil {
		return fmt.Errorf("revision %d: %w: %w", rev, ErrFetch, err)
	}
	doc, err := snapshot.Open(data, j.ptr, c.cfg.VerifyKey)
	if err != nil {
		return fmt.Errorf("verifying revision %d: %w", rev, err)
	}
	if err := c.applier.Apply(ctx, &doc.Config, doc.Revision, j.source); err != nil {
		return fmt.Errorf("revision %d: %w: %w", rev, ErrApply, err)
	}
	c.state.applied(j.source, time.Now())
	if c.cfg.Cache != nil {
		if err := c.cfg.Cache.Save(data, j.ptr); err != nil {
			// The proxy runs the revision already; the cache keeps the
			// previous one, which a restart would serve until it syncs.
			c.log.Error("applied configuration not cached", "revision", rev, "error", err)
			c.state.setError(err)
			c.state.setCache(cacheFailed, err)
		} else {
			c.state.setCache(cacheOK, nil)
		}
	}
	return nil
}

// boot applies the cached snapshot, when there is a valid one. A cache
// that held a configuration but cannot be booted from is lost: a warning,
// and "lost" in the sync state.
func (c *Client) boot(ctx context.Context) {
	if c.cfg.Cache == nil {
		c.state.setCache(cacheDisabled, nil)
		return
	}
	if migrated, err := c.cfg.Cache.Migrate(); err != nil {
		c.log.Warn("cache in the old two-file layout not usable; removed", "error", err)
	} else if migrated {
		c.log.Info("cache moved from the old two-file layout to one file")
	}
	doc, p, err := c.cfg.Cache.Load()
	if errors.Is(err, cache.ErrEmpty) {
		c.log.Info("no cached configuration yet")
		c.state.setCache(cacheEmpty, nil)
		return
	}
	if err != nil {
		c.lostCache(fmt.Errorf("cached configuration not usable: %w", err))
		return
	}
	if cur, _ := c.applier.Current(); p.Revision <= cur {
		c.state.setCache(cacheOK, nil)
		return
	}
	if err := c.applier.Apply(ctx, &doc.Config, doc.Revision, SourceCache); err != nil {
		c.lostCache(fmt.Errorf("cached revision %d: %w: %w", p.Revision, ErrApply, err))
		return
	}
	c.state.applied(SourceCache, time.Now())
	c.state.setCache(cacheOK, nil)
	c.log.Info("configuration loaded from cache", "revision", p.Revision)
}

// lostCache reports a cache that cannot be booted from.
func (c *Client) lostCache(err error) {
	c.log.Warn("cache lost: booting without it", "dir", c.cfg.Cache.Dir(), "error", err)
	c.state.setError(err)
	c.state.setCache(cacheLost, err)
}

// statusMessage is a status for the running revision and the last outcome.
func (c *Client) statusMessage() protocol.Status {
	st := c.state.lastOutcome()
	st.Action = protocol.ActionStatus
	st.NodeID = c.cfg.NodeID
	st.Revision, st.ConfigHash = c.current()
	return st
}

// current returns the running revision and config hash; the hash of the
// empty configuration before anything is loaded.
func (c *Client) current() (int64, string) {
	rev, hash := c.applier.Current()
	if hash == "" {
		hash = snapshot.ConfigHash(nil)
	}
	return rev, hash
}
