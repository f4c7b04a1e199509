package publisher

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// changeReader is a Source with a change log (store.Store has one): what
// changed after a revision, read by key rather than by a scan.
type changeReader interface {
	ChangedSince(ctx context.Context, base int64) (*store.ChangeSet, error)
}

// published is the configuration of the last revision this publisher
// wrote, the base of the next delta and of the next revision's
// configuration without reading either back.
type published struct {
	id     snapshot.Identity
	rev    int64
	cfg    *model.Config
	digest snapshot.Digest // cfg's, updated delta by delta
	// checked: this process's Validator accepted cfg (not set for a
	// configuration read back from object storage).
	checked bool
}

// revision is a revision read for publication.
type revision struct {
	rev    int64
	cfg    *model.Config
	digest snapshot.Digest // cfg's (its hash is the configuration hash)
	// base is the configuration at the revision latest.json names, when
	// known (held from the last publication, or read back from its
	// snapshot); nil otherwise.
	base       *model.Config
	baseDigest snapshot.Digest
	// baseChecked: this process's Validator accepted base.
	baseChecked bool
	// change is what changed since base, as read from the change log:
	// a delta without its hash, which the caller sets. nil when the
	// revision was exported whole.
	change *delta.Document
	// changes, when not nil, are the differences from base (as read from
	// the change log), for the history's summary.
	changes []history.Change
	// ptr is the pointer the revision is published with, once known.
	ptr snapshot.Pointer
}

// read returns the store's newest revision. With a base (the configuration
// latest.json names, of identity id) and a change log, it reads only what
// changed since the base and applies it; otherwise (no base, another
// identity, or a log that cannot tell: store.ErrLogGap) it exports the
// whole configuration.
func (p *Publisher) read(ctx context.Context, id snapshot.Identity, cur snapshot.Pointer) (revision, error) {
	var r revision
	if cur.Revision > 0 && cur.Identity() == id {
		base, digest, err := p.baseConfig(ctx, cur)
		if err != nil {
			p.opts.Logger.WarnContext(ctx, "the published configuration could not be read back; exporting",
				"revision", cur.Revision, "error", err)
		}
		r.base, r.baseDigest, r.baseChecked = base, digest, p.accepted(base)
	}
	if cr, ok := p.opts.Source.(changeReader); ok && r.base != nil {
		cs, err := cr.ChangedSince(ctx, cur.Revision)
		switch {
		case err == nil:
			r.rev = cs.Revision
			// The digest follows the entities dropped and brought: the
			// configuration is never hashed whole here.
			var seen func(before, after model.Entity)
			if p.opts.History != nil {
				// The history's summary, from the change alone.
				r.changes = []history.Change{}
				seen = func(before, after model.Entity) {
					if c, ok := history.Changed(before, after); ok {
						r.changes = append(r.changes, c)
					}
				}
			}
			if r.cfg, r.digest, err = delta.PatchSeen(r.base, r.baseDigest, &cs.Upserts, cs.Deletes, seen); err != nil {
				return revision{}, fmt.Errorf("applying the changes since revision %d: %w", cur.Revision, err)
			}
			r.change = &delta.Document{Base: cur.Revision, Revision: cs.Revision, ClusterID: id.ClusterID, Epoch: id.Epoch,
				Upserts: cs.Upserts, Deletes: cs.Deletes}
			return r, nil
		case errors.Is(err, store.ErrLogGap):
			p.opts.Logger.InfoContext(ctx, "the change log does not reach the published revision; exporting",
				"revision", cur.Revision, "error", err)
		default:
			return revision{}, fmt.Errorf("reading the changes since revision %d: %w", cur.Revision, err)
		}
	}
	cfg, rev, err := p.opts.Source.Export(ctx)
	if err != nil {
		return revision{}, fmt.Errorf("exporting configuration: %w", err)
	}
	if cfg == nil {
		return revision{}, errors.New("exporting configuration: no configuration returned")
	}
	// Sorted once here, so that the deltas applied to it later keep it
	// sorted (delta.Patch) without sorting it whole again.
	cfg.Sort()
	digest, err := snapshot.DigestOf(cfg)
	if err != nil {
		return revision{}, fmt.Errorf("hashing revision %d: %w", rev, err)
	}
	r.rev, r.cfg, r.digest = rev, cfg, digest
	return r, nil
}

// baseConfig returns the configuration at cur and its digest: the one
// this publisher wrote last when it is cur's, else that of cur's full
// snapshot read back (bounded by its pointer's size) with cur's chain of
// deltas applied, once per warm process.
func (p *Publisher) baseConfig(ctx context.Context, cur snapshot.Pointer) (*model.Config, snapshot.Digest, error) {
	p.mu.Lock()
	last := p.last
	p.mu.Unlock()
	if last.cfg != nil && last.id == cur.Identity() && last.rev == cur.Revision {
		return last.cfg, last.digest, nil
	}
	if err := cur.Check(); err != nil {
		return nil, snapshot.Digest{}, fmt.Errorf("reading the base snapshot: %w", err)
	}
	full := cur.FullPointer()
	data, _, err := objstore.GetMax(ctx, p.opts.Objects, full.Key, full.Size)
	if err != nil {
		return nil, snapshot.Digest{}, fmt.Errorf("reading the base snapshot %s: %w", full.Key, err)
	}
	pub := p.opts.Key.Public().(ed25519.PublicKey)
	// Decoded as a data plane decodes it (snapshot.OpenPacked): a stream
	// from the decompressor, each entity packed as it is read, so that
	// neither the decompressed document nor the unpacked entities are
	// held whole, and the configuration held is the compact one.
	doc, err := snapshot.OpenPacked(data, full, pub)
	if err != nil {
		// Signed by a key since rotated: the bytes are ours all the same
		// (create-only in our bucket), their digest is checked.
		if !errors.Is(err, snapshot.ErrSignature) {
			return nil, snapshot.Digest{}, fmt.Errorf("reading the base snapshot %s: %w", full.Key, err)
		}
		if doc, err = snapshot.DecodePacked(data); err != nil || doc.Revision != full.Revision || doc.Identity() != full.Identity() {
			return nil, snapshot.Digest{}, fmt.Errorf("reading the base snapshot %s: %w", full.Key, errors.Join(snapshot.ErrSignature, err))
		}
	}
	cfg := &doc.Config
	digest, err := snapshot.DigestOf(cfg)
	if err != nil {
		return nil, snapshot.Digest{}, fmt.Errorf("hashing the base snapshot %s: %w", full.Key, err)
	}
	rev := full.Revision
	for _, ref := range cur.Chain {
		if cfg, digest, err = p.chainedDelta(ctx, delta.Chained(cur, ref), cfg, digest, rev, pub); err != nil {
			return nil, snapshot.Digest{}, err
		}
		rev = ref.Revision
	}
	p.remember(cur.Identity(), cur.Revision, cfg, digest, false)
	// Once per cold process: the read-back's garbage (the compressed
	// bytes, each entity decoded before it was packed, the chain) is
	// collected before the whole compile a read-back base gets (check),
	// so that the compile's own allocations do not stack on it.
	runtime.GC()
	return cfg, digest, nil
}

// chainedDelta reads the delta dp names and applies it to cfg (at rev),
// checking the result's hash.
func (p *Publisher) chainedDelta(ctx context.Context, dp delta.Pointer, cfg *model.Config, digest snapshot.Digest, rev int64, pub ed25519.PublicKey) (*model.Config, snapshot.Digest, error) {
	data, _, err := objstore.GetMax(ctx, p.opts.Objects, dp.Key, dp.Size)
	if err != nil {
		return nil, digest, fmt.Errorf("reading the chained delta %s: %w", dp.Key, err)
	}
	doc, err := delta.Open(data, dp, pub)
	if errors.Is(err, snapshot.ErrSignature) {
		// A key since rotated, as for the full snapshot.
		if doc, err = delta.Decode(data); err == nil && (doc.Base != dp.Base || doc.Revision != dp.Revision || doc.Identity() != dp.Identity()) {
			err = snapshot.ErrRevision
		}
	}
	if err != nil {
		return nil, digest, fmt.Errorf("reading the chained delta %s: %w", dp.Key, err)
	}
	return delta.ApplyDigest(cfg, digest, rev, doc)
}

// remember keeps cfg, whose digest is digest, as the configuration of
// rev, the next base; checked when this process's Validator accepted it.
func (p *Publisher) remember(id snapshot.Identity, rev int64, cfg *model.Config, digest snapshot.Digest, checked bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last.cfg == nil || p.last.id != id || rev > p.last.rev {
		p.last = published{id: id, rev: rev, cfg: cfg, digest: digest, checked: checked}
	}
}

// accepted reports whether cfg is the configuration remembered last and
// this process's Validator accepted it.
func (p *Publisher) accepted(cfg *model.Config) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cfg != nil && p.last.cfg == cfg && p.last.checked
}
