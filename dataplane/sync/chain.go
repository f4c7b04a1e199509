package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// link is one delta of a pointer's chain, fetched and verified.
type link struct {
	data []byte
	ptr  delta.Pointer
}

// chainFrom returns the index in ptr's chain of the first delta after
// revision rev, when rev is ptr's full snapshot's or one of the chain's
// revisions before the last; -1 otherwise.
func chainFrom(ptr snapshot.Pointer, rev int64) int {
	if rev == ptr.Full {
		return 0
	}
	for i, d := range ptr.Chain[:max(len(ptr.Chain)-1, 0)] {
		if d.Revision == rev {
			return i + 1
		}
	}
	return -1
}

// applyChain reaches the revision of j, a pointer that chains deltas after
// a full snapshot (snapshot.Pointer.Full): from the running configuration
// when it is the full snapshot's revision or one in the chain (of the same
// identity), applying the rest of the chain; else, or when that fails,
// from the full snapshot, applying the whole chain. Every delta is
// verified (size, digest, signature, identity, revisions) and every
// result's hash checked against the control plane's; any error leaves the
// running configuration and the cache as they were.
func (c *Client) applyChain(ctx context.Context, j job, v verdict, l lineage) error {
	rev := j.ptr.Revision
	id, runRev, base, digest := c.run.get()
	cur, _ := c.applier.Current()
	if v == follow && base != nil && runRev == cur && id == j.ptr.Identity() {
		if from := chainFrom(j.ptr, runRev); from >= 0 {
			err := c.applyLinks(ctx, j, from, base, digest, runRev, nil, v, l)
			if err == nil || ctx.Err() != nil {
				return err
			}
			c.log.Info("delta chain not applied from the running revision; applying the full snapshot and its chain",
				"revision", rev, "running", runRev, "full", j.ptr.Full, "error", err)
		}
	}
	full := j.ptr.FullPointer()
	data, err := c.fetchObject(ctx, j.url, full.Key, full.Size)
	if errors.Is(err, snapshot.ErrSize) {
		return fmt.Errorf("verifying revision %d's full snapshot %d: %w", rev, full.Revision, err)
	}
	if err != nil {
		return fmt.Errorf("revision %d: %w: %w", rev, ErrFetch, err)
	}
	doc, err := c.cfg.Decoder.OpenSnapshot(data, full, c.cfg.VerifyKey)
	if err != nil {
		return fmt.Errorf("verifying revision %d's full snapshot %d: %w", rev, full.Revision, err)
	}
	if v == otherCluster || v == olderEpoch {
		return refuse(v, l, j.ptr)
	}
	d, err := snapshot.DigestOf(&doc.Config)
	if err != nil {
		return fmt.Errorf("revision %d: %w: %w", rev, ErrApply, err)
	}
	return c.applyLinks(ctx, j, 0, &doc.Config, d, full.Revision, data, v, l)
}

// applyLinks fetches, verifies and applies j's chain from index from to
// cfg (revision rev, digest digest), installs the result and caches it:
// full, when set, is the full snapshot's bytes cfg was read from (cached
// with the whole chain); else the deltas applied extend the cache's chain.
func (c *Client) applyLinks(ctx context.Context, j job, from int, cfg *model.Config, digest snapshot.Digest, rev int64, full []byte, v verdict, l lineage) error {
	links, cfg, digest, rev, err := c.chainLinks(ctx, j, from, cfg, digest, rev)
	if err != nil {
		return err
	}
	if rev != j.ptr.Revision {
		return fmt.Errorf("%w: chain ends at revision %d, announced %d", snapshot.ErrCorrupt, rev, j.ptr.Revision)
	}
	if err := c.install(ctx, cfg, digest, rev, j.source); err != nil {
		return err
	}
	c.run.set(j.ptr.Identity(), rev, cfg, digest)
	c.ident.applied(j.ptr.Identity())
	c.state.applied(j.source, time.Now(), j.ptr.Identity())
	c.markApplied()
	if full != nil {
		c.switched(v, l, j)
	}
	c.cacheChain(ctx, j, v, full, links)
	return nil
}

// chainLinks fetches, verifies and applies j's chain from index from to
// cfg (revision rev, digest digest), returning the deltas and the
// configuration, digest and revision they lead to.
func (c *Client) chainLinks(ctx context.Context, j job, from int, cfg *model.Config, digest snapshot.Digest, rev int64) ([]link, *model.Config, snapshot.Digest, int64, error) {
	links := make([]link, 0, len(j.ptr.Chain)-from)
	for i := from; i < len(j.ptr.Chain); i++ {
		lk, next, nextDigest, err := c.chainLink(ctx, j, i, cfg, digest, rev)
		if err != nil {
			return nil, nil, digest, rev, err
		}
		links = append(links, lk)
		cfg, digest, rev = next, nextDigest, lk.ptr.Revision
	}
	return links, cfg, digest, rev, nil
}

// chainLink fetches, verifies and applies delta i of j's chain to cfg.
func (c *Client) chainLink(ctx context.Context, j job, i int, cfg *model.Config, digest snapshot.Digest, rev int64) (link, *model.Config, snapshot.Digest, error) {
	dp := delta.Chained(j.ptr, j.ptr.Chain[i])
	if err := dp.Check(); err != nil {
		return link{}, nil, digest, err
	}
	var url string
	if i < len(j.chainURLs) {
		url = j.chainURLs[i]
	}
	data, err := c.fetchObject(ctx, url, dp.Key, dp.Size)
	if err != nil {
		return link{}, nil, digest, fmt.Errorf("revision %d: %w: delta %d→%d: %w", j.ptr.Revision, ErrFetch, dp.Base, dp.Revision, err)
	}
	doc, err := c.cfg.Decoder.OpenDelta(data, dp, c.cfg.VerifyKey)
	if err != nil {
		return link{}, nil, digest, fmt.Errorf("verifying delta %d→%d: %w", dp.Base, dp.Revision, err)
	}
	next, nextDigest, err := c.cfg.Decoder.ApplyDelta(cfg, digest, rev, doc)
	if err != nil {
		return link{}, nil, digest, err
	}
	return link{data: data, ptr: dp}, next, nextDigest, nil
}

// cacheChain saves what an apply through a chain read: the full snapshot
// and the whole chain when it started from the full snapshot, else the
// deltas it applied after the cache's chain; when those do not fit the
// cache's chain, the full snapshot and the whole chain, fetched again.
func (c *Client) cacheChain(ctx context.Context, j job, v verdict, full []byte, links []link) {
	if c.cfg.Cache == nil {
		return
	}
	var err error
	switch {
	case full != nil && (v == newEpoch || v == adopt):
		err = replaceChain(c.cfg.Cache, full, j.ptr.FullPointer(), links)
	case full != nil:
		// The full snapshot may be older than the mark (this data plane
		// ran a revision of the chain, and reached the new one again
		// from the full snapshot): the chain's end is not.
		err = c.cfg.Cache.SaveChain(full, j.ptr.FullPointer(), cacheDeltas(links))
	default:
		for _, lk := range links {
			if err = c.cfg.Cache.AppendDelta(lk.data, lk.ptr); err != nil {
				break
			}
		}
		if errors.Is(err, cache.ErrChainFull) || errors.Is(err, cache.ErrChainGap) || errors.Is(err, cache.ErrChainUnread) {
			err = c.cacheFullChain(ctx, j)
		}
	}
	if err != nil {
		c.log.Error("applied configuration not cached", "revision", j.ptr.Revision, "error", err)
		c.state.setError(err)
		c.state.setCache(cacheFailed, err)
		return
	}
	c.state.setCache(cacheOK, nil)
}

// cacheDeltas returns links as the cache saves them.
func cacheDeltas(links []link) []cache.Delta {
	out := make([]cache.Delta, len(links))
	for i, lk := range links {
		out[i] = cache.Delta{Data: lk.data, Pointer: lk.ptr}
	}
	return out
}

// replaceChain replaces the cache's mark with a full snapshot of another
// identity, then appends the chain.
func replaceChain(cc *cache.Cache, full []byte, fp snapshot.Pointer, links []link) error {
	if err := cc.Replace(full, fp); err != nil {
		return err
	}
	for _, lk := range links {
		if err := cc.AppendDelta(lk.data, lk.ptr); err != nil {
			return err
		}
	}
	return nil
}

// cacheFullChain fetches j's full snapshot and chain again, verifies them
// and caches them; the configuration they yield is the one that runs
// (the chain's last hash was checked when it was applied).
func (c *Client) cacheFullChain(ctx context.Context, j job) error {
	fp := j.ptr.FullPointer()
	data, err := c.fetchObject(ctx, j.url, fp.Key, fp.Size)
	if err != nil {
		return fmt.Errorf("fetching revision %d's full snapshot to cache it: %w", j.ptr.Revision, err)
	}
	doc, err := c.cfg.Decoder.OpenSnapshot(data, fp, c.cfg.VerifyKey)
	if err != nil {
		return fmt.Errorf("verifying revision %d's full snapshot to cache it: %w", j.ptr.Revision, err)
	}
	digest, err := snapshot.DigestOf(&doc.Config)
	if err != nil {
		return err
	}
	links, _, _, _, err := c.chainLinks(ctx, j, 0, &doc.Config, digest, fp.Revision)
	if err != nil {
		return fmt.Errorf("caching revision %d: %w", j.ptr.Revision, err)
	}
	return c.cfg.Cache.SaveChain(data, fp, cacheDeltas(links))
}
