package publisher

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
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
	id  snapshot.Identity
	rev int64
	cfg *model.Config
}

// revision is a revision read for publication.
type revision struct {
	rev int64
	cfg *model.Config
	// base is the configuration at the revision latest.json names, when
	// known (held from the last publication, or read back from its
	// snapshot); nil otherwise.
	base *model.Config
	// change is what changed since base, as read from the change log:
	// a delta without its hash, which the caller sets. nil when the
	// revision was exported whole.
	change *delta.Document
}

// read returns the store's newest revision. With a base (the configuration
// latest.json names, of identity id) and a change log, it reads only what
// changed since the base and applies it; otherwise (no base, another
// identity, or a log that cannot tell: store.ErrLogGap) it exports the
// whole configuration.
func (p *Publisher) read(ctx context.Context, id snapshot.Identity, cur snapshot.Pointer) (revision, error) {
	var r revision
	if cur.Revision > 0 && cur.Identity() == id {
		base, err := p.baseConfig(ctx, cur)
		if err != nil {
			p.opts.Logger.WarnContext(ctx, "the published configuration could not be read back; exporting",
				"revision", cur.Revision, "error", err)
		}
		r.base = base
	}
	if cr, ok := p.opts.Source.(changeReader); ok && r.base != nil {
		cs, err := cr.ChangedSince(ctx, cur.Revision)
		switch {
		case err == nil:
			r.rev = cs.Revision
			r.cfg = delta.Merge(r.base, &cs.Upserts, cs.Deletes)
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
	r.rev, r.cfg = rev, cfg
	return r, nil
}

// baseConfig returns the configuration at cur: the one this publisher
// wrote last when it is cur's, else that of cur's snapshot read back
// (bounded by its pointer's size), once per warm process.
func (p *Publisher) baseConfig(ctx context.Context, cur snapshot.Pointer) (*model.Config, error) {
	p.mu.Lock()
	last := p.last
	p.mu.Unlock()
	if last.cfg != nil && last.id == cur.Identity() && last.rev == cur.Revision {
		return last.cfg, nil
	}
	if err := cur.Check(); err != nil {
		return nil, fmt.Errorf("reading the base snapshot: %w", err)
	}
	data, _, err := objstore.GetMax(ctx, p.opts.Objects, cur.Key, cur.Size)
	if err != nil {
		return nil, fmt.Errorf("reading the base snapshot %s: %w", cur.Key, err)
	}
	doc, err := snapshot.Open(data, cur, p.opts.Key.Public().(ed25519.PublicKey))
	if err != nil {
		// Signed by a key since rotated: the bytes are ours all the same
		// (create-only in our bucket), their digest is checked.
		if !errors.Is(err, snapshot.ErrSignature) {
			return nil, fmt.Errorf("reading the base snapshot %s: %w", cur.Key, err)
		}
		if doc, err = snapshot.Decode(data); err != nil || doc.Revision != cur.Revision || doc.Identity() != cur.Identity() {
			return nil, fmt.Errorf("reading the base snapshot %s: %w", cur.Key, errors.Join(snapshot.ErrSignature, err))
		}
	}
	p.remember(cur.Identity(), cur.Revision, &doc.Config)
	return &doc.Config, nil
}

// remember keeps cfg as the configuration of rev, the next base.
func (p *Publisher) remember(id snapshot.Identity, rev int64, cfg *model.Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last.cfg == nil || p.last.id != id || rev > p.last.rev {
		p.last = published{id: id, rev: rev, cfg: cfg}
	}
}
