package publisher

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// published is the index of the last revision this publisher wrote, the
// base of the next delta without reading it back.
type published struct {
	id  snapshot.Identity
	rev int64
	idx delta.Index
}

// writeDelta writes the delta from the revision latest.json names (cur)
// to rev, when cur is of identity id and older, and returns its reference
// for rev's pointer (latest.json and the notices); zero when none. The base configuration is the one this publisher wrote
// last, or else cur's snapshot read back. Revisions published in between
// by nobody (a burst committed while the previous publication ran) are
// coalesced into the one delta. A delta is an optimization: a failure is
// logged and the revision is announced with its full snapshot only.
func (p *Publisher) writeDelta(ctx context.Context, cur snapshot.Pointer, id snapshot.Identity, rev int64, cfg *model.Config) snapshot.DeltaRef {
	if cur.Revision < 1 || cur.Revision >= rev || cur.Identity() != id || p.opts.NoDeltas {
		if !p.opts.NoDeltas {
			if idx, err := delta.IndexOf(cfg); err == nil {
				p.remember(id, rev, idx)
			}
		}
		return snapshot.DeltaRef{}
	}
	ptr, err := p.sealDelta(ctx, cur, id, rev, cfg)
	if err != nil {
		p.opts.Logger.WarnContext(ctx, "delta not written; the revision is announced by its snapshot only",
			"base", cur.Revision, "revision", rev, "error", err)
		return snapshot.DeltaRef{}
	}
	p.opts.Logger.InfoContext(ctx, "published delta", "base", ptr.Base, "revision", ptr.Revision, "key", ptr.Key, "size", ptr.Size)
	return snapshot.DeltaRef{Base: ptr.Base, Key: ptr.Key, SHA256: ptr.SHA256, Size: ptr.Size, Signature: ptr.Signature, Format: ptr.Format}
}

func (p *Publisher) sealDelta(ctx context.Context, cur snapshot.Pointer, id snapshot.Identity, rev int64, cfg *model.Config) (delta.Pointer, error) {
	base, err := p.base(ctx, cur)
	if err != nil {
		return delta.Pointer{}, err
	}
	doc, next, err := delta.DiffIndex(id, cur.Revision, base, rev, cfg)
	if err != nil {
		return delta.Pointer{}, err
	}
	p.remember(id, rev, next)
	data, ptr, err := delta.Seal(doc, p.opts.Key, p.opts.Clock())
	if err != nil {
		return delta.Pointer{}, err
	}
	_, err = p.opts.Objects.Put(ctx, ptr.Key, data, objstore.Condition{IfNoneMatch: true})
	switch {
	case errors.Is(err, objstore.ErrPrecondition):
		return p.existingDelta(ctx, ptr, doc.ConfigHash)
	case err != nil:
		return delta.Pointer{}, fmt.Errorf("writing %s: %w", ptr.Key, err)
	}
	return ptr, nil
}

// base returns the index of the configuration at cur: the one this
// publisher wrote last when it is cur's, else that of cur's snapshot read
// back (bounded by its pointer's size).
func (p *Publisher) base(ctx context.Context, cur snapshot.Pointer) (delta.Index, error) {
	p.mu.Lock()
	last := p.last
	p.mu.Unlock()
	if last.idx != nil && last.id == cur.Identity() && last.rev == cur.Revision {
		return last.idx, nil
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
	return delta.IndexOf(&doc.Config)
}

// existingDelta derives the pointer of a delta another publisher (or an
// earlier attempt) stored at ptr's key, provided it yields the same
// configuration (hash).
func (p *Publisher) existingDelta(ctx context.Context, ptr delta.Pointer, hash string) (delta.Pointer, error) {
	data, _, err := objstore.GetMax(ctx, p.opts.Objects, ptr.Key, snapshot.MaxStored)
	if err != nil {
		return delta.Pointer{}, fmt.Errorf("reading existing %s: %w", ptr.Key, err)
	}
	doc, err := delta.Decode(data)
	if err != nil {
		return delta.Pointer{}, fmt.Errorf("reading existing %s: %w", ptr.Key, err)
	}
	if doc.Base != ptr.Base || doc.Revision != ptr.Revision || doc.Identity() != ptr.Identity() || doc.ConfigHash != hash {
		return delta.Pointer{}, fmt.Errorf("writing %s: %w", ptr.Key, ErrOccupied)
	}
	sum := sha256.Sum256(data)
	ptr.SHA256 = hex.EncodeToString(sum[:])
	ptr.Size = int64(len(data))
	ptr.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(p.opts.Key, sum[:]))
	ptr.Format = doc.Format
	return ptr, nil
}

// remember keeps idx as the index of rev, the next delta's base.
func (p *Publisher) remember(id snapshot.Identity, rev int64, idx delta.Index) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last.idx == nil || p.last.id != id || rev > p.last.rev {
		p.last = published{id: id, rev: rev, idx: idx}
	}
}
