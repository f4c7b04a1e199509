package publisher

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

// latest returns latest.json and its ETag; a zero pointer and no ETag
// when nothing is published yet.
func (p *Publisher) latest(ctx context.Context) (snapshot.Pointer, string, error) {
	ptr, etag, err := cluster.ReadLatest(ctx, p.opts.Objects)
	if errors.Is(err, objstore.ErrNotFound) {
		return snapshot.Pointer{}, "", nil
	}
	return ptr, etag, err
}

// write seals doc and stores it create-only. When the snapshot of this
// revision already exists (another publisher, or an earlier attempt), the
// pointer is derived from the stored bytes instead, so every publisher of
// one revision agrees on one pointer; provided they hold doc's identity
// and configuration, which a key shared by two histories would not.
//
// The seal reuses the compressed segments of the last full snapshot this
// process sealed whose entities doc still holds (snapshot.SealReusing):
// a scheduled full snapshot, sealed from the held base and the change
// log, compresses again only the segments the writes since touched.
func (p *Publisher) write(ctx context.Context, doc *snapshot.Document) (snapshot.Pointer, error) {
	p.mu.Lock()
	prev := p.segments
	p.mu.Unlock()
	data, ptr, segs, err := snapshot.SealReusing(doc, p.opts.Key, p.opts.Clock(), prev)
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("sealing revision %d: %w", doc.Revision, err)
	}
	p.mu.Lock()
	p.segments = segs
	p.mu.Unlock()
	reused, total := segs.Reused()
	p.opts.Logger.DebugContext(ctx, "sealed a full snapshot", "revision", doc.Revision, "segments", total, "reused", reused)
	_, err = p.opts.Objects.Put(ctx, ptr.Key, data, objstore.Condition{IfNoneMatch: true})
	switch {
	case errors.Is(err, objstore.ErrPrecondition):
		return p.existing(ctx, ptr.Key, data)
	case err != nil:
		return snapshot.Pointer{}, fmt.Errorf("writing %s: %w", ptr.Key, err)
	}
	return ptr, nil
}

// ErrOccupied reports a snapshot key that holds another configuration or
// identity than the one this publisher would store there.
var ErrOccupied = errors.New("the snapshot's key holds another configuration")

// existing derives the pointer of a stored snapshot: digest and size of
// its bytes, this publisher's (deterministic) Ed25519 signature over the
// digest, and the time it was sealed as the publication time. It refuses
// a stored document of another identity or configuration than mine, the
// bytes this publisher sealed for the key.
func (p *Publisher) existing(ctx context.Context, key string, mine []byte) (snapshot.Pointer, error) {
	data, _, err := objstore.GetMax(ctx, p.opts.Objects, key, snapshot.MaxStored)
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("reading existing %s: %w", key, err)
	}
	doc, err := snapshot.Decode(data)
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("reading existing %s: %w", key, err)
	}
	if doc.Identity().Key(doc.Revision) != key {
		return snapshot.Pointer{}, fmt.Errorf("reading existing %s: %w: document holds revision %d of %s", key, snapshot.ErrRevision, doc.Revision, doc.Identity())
	}
	want, err := snapshot.Decode(mine)
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("writing %s: %w", key, err)
	}
	if doc.Identity() != want.Identity() || snapshot.ConfigHash(&doc.Config) != snapshot.ConfigHash(&want.Config) {
		return snapshot.Pointer{}, fmt.Errorf("writing %s: %w", key, ErrOccupied)
	}
	sum := sha256.Sum256(data)
	return snapshot.Pointer{
		ClusterID:   doc.ClusterID,
		Epoch:       doc.Epoch,
		Revision:    doc.Revision,
		Key:         key,
		SHA256:      hex.EncodeToString(sum[:]),
		Size:        int64(len(data)),
		Signature:   base64.StdEncoding.EncodeToString(ed25519.Sign(p.opts.Key, sum[:])),
		PublishedAt: doc.CreatedAt,
		Format:      doc.Format,
	}, nil
}

// advance moves latest.json from cur (read with etag) to ptr, only
// forwards (supersedes): when another publisher moved it to ptr's
// revision or beyond, or to a newer epoch, that pointer stays and is
// returned.
func (p *Publisher) advance(ctx context.Context, ptr, cur snapshot.Pointer, etag string) (snapshot.Pointer, error) {
	data, err := encodePointer(ptr)
	if err != nil {
		return snapshot.Pointer{}, err
	}
	for range maxCASAttempts {
		if !supersedes(cur, ptr.Identity(), ptr.Revision) {
			return cur, nil
		}
		cond := objstore.Condition{IfMatch: etag, IfNoneMatch: etag == ""}
		_, err := p.opts.Objects.Put(ctx, snapshot.LatestKey, data, cond)
		if err == nil {
			if !ptr.SameFull(cur) {
				p.supersede(ctx, cur)
			}
			return ptr, nil
		}
		if !errors.Is(err, objstore.ErrPrecondition) {
			return snapshot.Pointer{}, fmt.Errorf("writing %s: %w", snapshot.LatestKey, err)
		}
		if cur, etag, err = p.latest(ctx); err != nil {
			return snapshot.Pointer{}, err
		}
	}
	return snapshot.Pointer{}, fmt.Errorf("writing %s: %w after %d attempts", snapshot.LatestKey, objstore.ErrPrecondition, maxCASAttempts)
}

// encodePointer returns latest.json's bytes for ptr, refusing one larger
// than readers accept.
func encodePointer(ptr snapshot.Pointer) ([]byte, error) {
	data, err := json.Marshal(ptr)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", snapshot.LatestKey, err)
	}
	if len(data) > snapshot.MaxPointer {
		return nil, fmt.Errorf("encoding %s: %d bytes, readers accept %d", snapshot.LatestKey, len(data), snapshot.MaxPointer)
	}
	return data, nil
}

// SupersededTag marks a snapshot that latest.json no longer names; the
// bucket's lifecycle rule expires such objects after a retention period.
const SupersededTag = "skyport:superseded"

// supersede tags the snapshot latest.json named before, when the store can
// tag; a failure only delays its expiry, so it is logged, not returned.
func (p *Publisher) supersede(ctx context.Context, prev snapshot.Pointer) {
	t, ok := p.opts.Objects.(objstore.Tagger)
	if !ok || prev.Key == "" {
		return
	}
	if err := t.Tag(ctx, prev.Key, map[string]string{SupersededTag: "true"}); err != nil {
		p.opts.Logger.WarnContext(ctx, "tagging a superseded snapshot", "key", prev.Key, "error", err)
	}
}
