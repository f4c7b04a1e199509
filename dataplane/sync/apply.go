package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/model"
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
// running one (within its cluster identity) or was rejected already.
func (c *Client) submit(j job) {
	cur, _ := c.applier.Current()
	switch {
	case judge(c.ident.lineage(cur), j.ptr, c.cfg.AdoptCluster) == notNewer:
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
	case errors.Is(err, ErrClusterMismatch):
		c.log.Error("snapshot of another cluster refused", "revision", rev, "cluster_id", j.ptr.ClusterID, "epoch", j.ptr.Epoch,
			"source", j.source, "error", err)
		c.state.rejected(j.ptr, err, true)
	case err != nil:
		c.log.Warn("snapshot rejected", "revision", rev, "source", j.source, "error", err)
		c.state.rejected(j.ptr, err, !errors.Is(err, ErrFetch))
	default:
		// The proxy logs the apply itself, with what it compiled.
		c.log.Debug("snapshot applied", "revision", rev, "source", j.source)
	}
	c.sendStatus(ctx)
}

// apply fetches, verifies, applies and caches j's snapshot, by the
// identity rules (judge). Any error leaves the running configuration and
// the cache as they were.
func (c *Client) apply(ctx context.Context, j job) error {
	rev := j.ptr.Revision
	cur, _ := c.applier.Current()
	l := c.ident.lineage(cur)
	v := judge(l, j.ptr, c.cfg.AdoptCluster)
	if v == notNewer {
		return fmt.Errorf("revision %d: %w (running %d)", rev, ErrNotNewer, cur)
	}
	if err := j.ptr.Check(); err != nil {
		return fmt.Errorf("announced revision %d: %w", rev, err)
	}
	if j.delta != nil && v == follow {
		err := c.applyDelta(ctx, j)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		c.state.delta(false)
		c.log.Info("delta not applied; applying the full snapshot", "revision", rev, "base", j.delta.Base, "error", err)
	}
	if j.ptr.Full != 0 {
		return c.applyChain(ctx, j, v, l)
	}
	data, err := c.fetch(ctx, j)
	if errors.Is(err, snapshot.ErrSize) {
		return fmt.Errorf("verifying revision %d: %w", rev, err)
	}
	if err != nil {
		return fmt.Errorf("revision %d: %w: %w", rev, ErrFetch, err)
	}
	// Verified first: what refuses a cluster is the signed document's
	// identity, never a notice's claim.
	doc, err := c.cfg.Decoder.OpenSnapshot(data, j.ptr, c.cfg.VerifyKey)
	if err != nil {
		return fmt.Errorf("verifying revision %d: %w", rev, err)
	}
	if v == otherCluster || v == olderEpoch {
		return refuse(v, l, j.ptr)
	}
	digest, err := snapshot.DigestOf(&doc.Config)
	if err != nil {
		return fmt.Errorf("revision %d: %w: %w", rev, ErrApply, err)
	}
	if err := c.install(ctx, &doc.Config, digest, doc.Revision, j.source); err != nil {
		return err
	}
	c.run.set(j.ptr.Identity(), doc.Revision, &doc.Config, digest)
	c.ident.applied(j.ptr.Identity())
	c.state.applied(j.source, time.Now(), j.ptr.Identity())
	c.markApplied()
	c.switched(v, l, j)
	if c.cfg.Cache != nil {
		save := c.cfg.Cache.Save
		if v == newEpoch || v == adopt {
			save = c.cfg.Cache.Replace
		}
		if err := save(data, j.ptr); err != nil {
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

// install hands cfg, whose digest the client computed, to the applier:
// with its hash when the applier takes one (HashedApplier), so the
// configuration is hashed once per apply.
func (c *Client) install(ctx context.Context, cfg *model.Config, digest snapshot.Digest, rev int64, source string) error {
	var err error
	if h, ok := c.applier.(HashedApplier); ok {
		err = h.ApplyHashed(ctx, cfg, digest.Hash(), rev, source)
	} else {
		err = c.applier.Apply(ctx, cfg, rev, source)
	}
	if err != nil {
		return fmt.Errorf("revision %d: %w: %w", rev, ErrApply, err)
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
	cfg, digest, rev, err := c.cachedDeltas(p, &doc.Config)
	if err != nil {
		c.lostCache(err)
		return
	}
	if cur, _ := c.applier.Current(); rev <= cur {
		c.state.setCache(cacheOK, nil)
		return
	}
	if err := c.install(ctx, cfg, digest, rev, SourceCache); err != nil {
		c.lostCache(fmt.Errorf("cached %w", err))
		return
	}
	c.run.set(p.Identity(), rev, cfg, digest)
	c.ident.applied(p.Identity())
	c.state.applied(SourceCache, time.Now(), p.Identity())
	c.state.setCache(cacheOK, nil)
	c.log.Info("configuration loaded from cache", "revision", rev)
}

// switched logs, loudly, a move to a new epoch or an adopted cluster.
func (c *Client) switched(v verdict, l lineage, j job) {
	from := []any{"revision", j.ptr.Revision, "cluster_id", j.ptr.ClusterID, "epoch", j.ptr.Epoch,
		"previous_revision", max(l.running, l.marked), "previous_cluster_id", l.id.ClusterID, "previous_epoch", l.id.Epoch, "source", j.source}
	switch {
	case v == newEpoch:
		c.log.Warn("following a new epoch of the cluster (its store was restored): revisions start over from this one", from...)
	case v == adopt && l.id.IsZero():
		c.log.Warn("the control plane now identifies its cluster: following it", from...)
	case v == adopt:
		c.log.Warn("adopting another cluster, as allowed: the configuration of the previous one is replaced", from...)
	}
}

// lostCache reports a cache that cannot be booted from, and keeps the
// cluster identity its mark names to judge what comes next by.
func (c *Client) lostCache(err error) {
	if m, merr := c.cfg.Cache.Mark(); merr == nil && m.Revision > 0 {
		c.ident.marked(m.Identity(), m.Revision)
	}
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
	id := c.ident.running(st.Revision)
	st.ClusterID, st.Epoch = id.ClusterID, id.Epoch
	if c.cfg.Traffic != nil {
		req, errs := c.cfg.Traffic()
		st.Requests, st.Errors5xx = req-c.baseRequests.Load(), errs-c.baseErrors.Load()
	}
	if c.cfg.Health != nil {
		st.Health = c.cfg.Health()
		if len(st.Health) > protocol.MaxHealth {
			st.Health = st.Health[:protocol.MaxHealth]
		}
	}
	return st
}

// markApplied starts counting traffic for the revision just applied.
func (c *Client) markApplied() {
	if c.cfg.Traffic != nil {
		req, errs := c.cfg.Traffic()
		c.baseRequests.Store(req)
		c.baseErrors.Store(errs)
	}
	c.appliedAt.Store(time.Now().UnixNano())
	select {
	case c.reports <- struct{}{}:
	default:
	}
}

// reportDue returns when the next status report after an apply is due,
// and false outside the ReportWindow after the last apply.
func (c *Client) reportDue(now time.Time) (time.Time, bool) {
	at := c.appliedAt.Load()
	if at == 0 || now.Sub(time.Unix(0, at)) > ReportWindow {
		return time.Time{}, false
	}
	return now.Add(c.cfg.ReportInterval), true
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
