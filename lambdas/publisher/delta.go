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
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// writeDelta writes the delta from the revision latest.json names (cur)
// to r, when cur is of identity id, older, and its configuration known,
// and returns its pointer; false when none. The delta is what the change
// log named (r.change), or else the diff of r's configuration against the
// base. Revisions published in between by nobody (a burst committed while
// the previous publication ran) are coalesced into the one delta. A
// failure is logged and the revision is sealed as a full snapshot.
func (p *Publisher) writeDelta(ctx context.Context, cur snapshot.Pointer, id snapshot.Identity, r revision, hash string) (delta.Pointer, bool) {
	if cur.Revision < 1 || cur.Revision >= r.rev || cur.Identity() != id || p.opts.NoDeltas || r.base == nil {
		return delta.Pointer{}, false
	}
	ptr, err := p.sealDelta(ctx, cur, id, r, hash)
	if err != nil {
		p.opts.Logger.WarnContext(ctx, "delta not written; the revision is sealed as a full snapshot",
			"base", cur.Revision, "revision", r.rev, "error", err)
		return delta.Pointer{}, false
	}
	p.opts.Logger.InfoContext(ctx, "published delta", "base", ptr.Base, "revision", ptr.Revision, "key", ptr.Key, "size", ptr.Size)
	return ptr, true
}

func (p *Publisher) sealDelta(ctx context.Context, cur snapshot.Pointer, id snapshot.Identity, r revision, hash string) (delta.Pointer, error) {
	doc := r.change
	if doc == nil {
		var err error
		if doc, err = delta.Diff(id, cur.Revision, r.base, r.rev, r.cfg); err != nil {
			return delta.Pointer{}, err
		}
	}
	doc.ConfigHash = hash
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
