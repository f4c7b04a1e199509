package sync

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/sync/cache"
	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// SourceDelta is the source of a configuration a delta from the running
// one produced (the notice came from the control plane).
const SourceDelta = "delta"

// errNoBase reports a delta whose base is not the configuration held.
var errNoBase = errors.New("delta base is not the running configuration")

// running is the configuration that runs, the base a delta applies to.
// The proxy compiles from it and never modifies it; a delta's result
// shares its unchanged entities.
// Its digest is kept with it, so that a delta's result is hashed from
// what the delta changes.
type running struct {
	mu     stdsync.Mutex
	id     snapshot.Identity
	rev    int64
	cfg    *model.Config
	digest snapshot.Digest
}

func (r *running) set(id snapshot.Identity, rev int64, cfg *model.Config, digest snapshot.Digest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.id, r.rev, r.cfg, r.digest = id, rev, cfg, digest
}

func (r *running) get() (snapshot.Identity, int64, *model.Config, snapshot.Digest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id, r.rev, r.cfg, r.digest
}

// pointerDelta is the delta a pointer (latest.json) names, as a notice
// offers it; nil when it names none.
func pointerDelta(p snapshot.Pointer) *protocol.DeltaNotice {
	d := p.Delta
	if d.Key == "" {
		return nil
	}
	return &protocol.DeltaNotice{Base: d.Base, Revision: p.Revision, Key: d.Key, SHA256: d.SHA256,
		Size: d.Size, Signature: d.Signature, Format: d.Format}
}

// deltaPointer is the pointer of the delta a notice offers for ptr's
// revision, with ptr's identity.
func deltaPointer(ptr snapshot.Pointer, d *protocol.DeltaNotice) delta.Pointer {
	return delta.Pointer{
		ClusterID: ptr.ClusterID, Epoch: ptr.Epoch, Base: d.Base, Revision: d.Revision,
		Key: d.Key, SHA256: d.SHA256, Size: d.Size, Signature: d.Signature, Format: d.Format,
	}
}

// applyDelta applies the delta j offers to the running configuration:
// only when its base is the running revision of the same identity and
// its target is j's revision; the delta fetched, verified (size, digest,
// signature, identity, revisions), applied, and the result's hash checked
// against the control plane's before it is compiled and swapped in. Any
// error leaves the running configuration as it was; the caller then
// applies the full snapshot.
func (c *Client) applyDelta(ctx context.Context, j job) error {
	d := j.delta
	id, rev, base, digest := c.run.get()
	cur, _ := c.applier.Current()
	switch {
	case base == nil || rev != cur || id != j.ptr.Identity() || d.Base != rev:
		return fmt.Errorf("%w: delta from %d, running %d of %s", errNoBase, d.Base, cur, id)
	case d.Revision != j.ptr.Revision:
		return fmt.Errorf("%w: delta to %d announced for revision %d", snapshot.ErrCorrupt, d.Revision, j.ptr.Revision)
	}
	ptr := deltaPointer(j.ptr, d)
	if err := ptr.Check(); err != nil {
		return err
	}
	data, err := c.fetchObject(ctx, d.URL, ptr.Key, ptr.Size)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFetch, err)
	}
	doc, err := c.cfg.Decoder.OpenDelta(data, ptr, c.cfg.VerifyKey)
	if err != nil {
		return fmt.Errorf("verifying delta %d→%d: %w", d.Base, d.Revision, err)
	}
	cfg, digest, err := c.cfg.Decoder.ApplyDelta(base, digest, rev, doc)
	if err != nil {
		return err
	}
	if err := c.install(ctx, cfg, digest, doc.Revision, SourceDelta); err != nil {
		return err
	}
	c.run.set(id, doc.Revision, cfg, digest)
	c.ident.applied(id)
	c.state.applied(SourceDelta, time.Now(), id)
	c.markApplied()
	c.state.delta(true)
	c.cacheDelta(ctx, j, data, ptr, doc.ConfigHash)
	return nil
}

// cacheDelta adds the applied delta to the disk cache's chain. When the
// chain is full (or does not continue the cache), the revision's full
// snapshot, which the notice names, is fetched and saved instead,
// provided it holds the configuration that runs (hash).
func (c *Client) cacheDelta(ctx context.Context, j job, data []byte, ptr delta.Pointer, hash string) {
	if c.cfg.Cache == nil {
		return
	}
	err := c.cfg.Cache.AppendDelta(data, ptr)
	if errors.Is(err, cache.ErrChainFull) || errors.Is(err, cache.ErrChainGap) {
		err = c.cacheSnapshot(ctx, j, hash)
	}
	if err != nil {
		// The proxy runs the revision already; the cache keeps the
		// previous one, which a restart would serve until it syncs.
		c.log.Error("applied configuration not cached", "revision", ptr.Revision, "error", err)
		c.state.setError(err)
		c.state.setCache(cacheFailed, err)
		return
	}
	c.state.setCache(cacheOK, nil)
}

// cacheSnapshot fetches, verifies and caches j's full snapshot, which
// must hold the configuration of the given hash.
func (c *Client) cacheSnapshot(ctx context.Context, j job, hash string) error {
	if j.ptr.Full != 0 {
		return c.cacheFullChain(ctx, j)
	}
	data, err := c.fetch(ctx, j)
	if err != nil {
		return fmt.Errorf("fetching revision %d to cache it: %w", j.ptr.Revision, err)
	}
	doc, err := c.cfg.Decoder.OpenSnapshot(data, j.ptr, c.cfg.VerifyKey)
	if err != nil {
		return fmt.Errorf("verifying revision %d to cache it: %w", j.ptr.Revision, err)
	}
	if got := snapshot.ConfigHash(&doc.Config); got != hash {
		return fmt.Errorf("revision %d to cache: %w: snapshot %s, running %s", j.ptr.Revision, delta.ErrResult, got, hash)
	}
	return c.cfg.Cache.Save(data, j.ptr)
}

// cachedDeltas applies the cache's delta chain to the cached snapshot's
// configuration: every delta must verify and each result's hash match,
// since the mark is the chain's end and a boot never goes back before it.
func (c *Client) cachedDeltas(p snapshot.Pointer, cfg *model.Config) (*model.Config, snapshot.Digest, int64, error) {
	rev := p.Revision
	docs, err := c.cfg.Cache.Deltas(p)
	if err != nil {
		return nil, snapshot.Digest{}, 0, fmt.Errorf("cached configuration not usable: %w", err)
	}
	digest, err := snapshot.DigestOf(cfg)
	if err != nil {
		return nil, snapshot.Digest{}, 0, fmt.Errorf("cached configuration not usable: %w", err)
	}
	for _, d := range docs {
		next, nextDigest, err := delta.ApplyDigest(cfg, digest, rev, d)
		if err != nil {
			return nil, snapshot.Digest{}, 0, fmt.Errorf("cached configuration not usable: %w", err)
		}
		cfg, digest, rev = next, nextDigest, d.Revision
	}
	return cfg, digest, rev, nil
}

// fetchObject returns an object's stored bytes, from its presigned URL
// when there is one, else from the fallback store, reading at most size
// bytes (a longer object fails verification).
func (c *Client) fetchObject(ctx context.Context, url, key string, size int64) ([]byte, error) {
	if url != "" {
		return c.download(ctx, url, size)
	}
	if c.cfg.Fallback == nil {
		return nil, errNoSource
	}
	data, _, err := objstore.GetMax(ctx, c.cfg.Fallback, key, size)
	if errors.Is(err, objstore.ErrTooLarge) {
		return nil, fmt.Errorf("reading %s: %w: %w", key, snapshot.ErrSize, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	return data, nil
}
