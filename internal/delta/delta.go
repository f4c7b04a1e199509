// Package delta is the incremental form of a snapshot: what changed in the
// configuration between a base revision and a target revision of one
// cluster identity — the entities created or updated, by kind, and the
// ids deleted, by kind — with the target's configuration hash, so that a
// reader that applied it to the base can tell it holds exactly the
// target. A delta is stored and signed as a snapshot is: canonical JSON,
// gzip without a timestamp, SHA-256 of the stored bytes signed with
// Ed25519 (snapshot.Verify), and decoded with the same bounds.
package delta

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// Errors of a delta that cannot be used; any of them sends a reader to
// the target's full snapshot.
var (
	// ErrBase: the delta does not start at the revision it is applied to.
	ErrBase = errors.New("delta base mismatch")
	// ErrResult: applying the delta gave another configuration than the
	// target's (its hash differs from the delta's config_hash).
	ErrResult = errors.New("delta result hash mismatch")
)

// Document is a delta's content.
type Document struct {
	// Format is "major.minor", snapshot.Format's version.
	Format string `json:"format"`
	// Base is the revision the delta applies to; Revision the one it
	// yields (Base < Revision; the revisions between are coalesced).
	Base     int64 `json:"base"`
	Revision int64 `json:"revision"`
	// CreatedAt is when the publisher built it (RFC 3339, UTC).
	CreatedAt string `json:"created_at"`
	// ClusterID and Epoch are the identity of both revisions.
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
	// ConfigHash is snapshot.ConfigHash of the target configuration.
	ConfigHash string `json:"config_hash"`
	// Upserts holds every entity created or changed since Base, whole.
	Upserts model.Config `json:"upserts"`
	// Deletes lists, by kind, the ids of the entities deleted since Base
	// (sorted).
	Deletes map[model.Kind][]string `json:"deletes,omitempty"`
}

// Identity returns the cluster and epoch of the delta.
func (d *Document) Identity() snapshot.Identity {
	return snapshot.Identity{ClusterID: d.ClusterID, Epoch: d.Epoch}
}

// Empty reports whether the delta changes nothing.
func (d *Document) Empty() bool { return d.Upserts.Empty() && len(d.Deletes) == 0 }

// Pointer names a stored delta and carries what verifies it; a config
// notice carries it beside the full snapshot's pointer.
type Pointer struct {
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
	Base      int64  `json:"base"`
	Revision  int64  `json:"revision"`
	Key       string `json:"key"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	Signature string `json:"signature"`
	Format    string `json:"format"`
}

// Ref returns the pointer's reference in a snapshot.Pointer's chain.
func (p Pointer) Ref() snapshot.DeltaRef {
	return snapshot.DeltaRef{Base: p.Base, Revision: p.Revision, Key: p.Key, SHA256: p.SHA256, Size: p.Size,
		Signature: p.Signature, Format: p.Format}
}

// Chained returns the pointer of the delta ref names in ptr's chain,
// with ptr's identity.
func Chained(ptr snapshot.Pointer, ref snapshot.DeltaRef) Pointer {
	return Pointer{ClusterID: ptr.ClusterID, Epoch: ptr.Epoch, Base: ref.Base, Revision: ref.Revision, Key: ref.Key,
		SHA256: ref.SHA256, Size: ref.Size, Signature: ref.Signature, Format: ref.Format}
}

// Identity returns the cluster and epoch the pointer names.
func (p Pointer) Identity() snapshot.Identity {
	return snapshot.Identity{ClusterID: p.ClusterID, Epoch: p.Epoch}
}

// Check refuses a pointer no reader should act on: a malformed identity,
// revisions out of order, a key other than Key(identity, base, revision),
// or a size outside 1..snapshot.MaxStored.
func (p Pointer) Check() error {
	id := p.Identity()
	if err := id.Check(); err != nil {
		return fmt.Errorf("%w: %w", snapshot.ErrCorrupt, err)
	}
	switch {
	case p.Base < 1 || p.Revision <= p.Base:
		return fmt.Errorf("%w: delta from revision %d to %d", snapshot.ErrCorrupt, p.Base, p.Revision)
	case p.Key != Key(id, p.Base, p.Revision):
		return fmt.Errorf("%w: delta key %q from revision %d to %d", snapshot.ErrCorrupt, p.Key, p.Base, p.Revision)
	case p.Size < 1 || p.Size > snapshot.MaxStored:
		return fmt.Errorf("%w: delta size %d (1 to %d bytes)", snapshot.ErrSize, p.Size, snapshot.MaxStored)
	}
	return nil
}

// Key returns the object key of the delta from base to rev below the
// prefix: deltas/<cluster_id>/<epoch>/<base, 20 digits>-<rev, 20
// digits>.json.gz; deltas/<base>-<rev>.json.gz for the zero identity.
func Key(id snapshot.Identity, base, rev int64) string { return snapshot.DeltaKey(id, base, rev) }

// Encode returns the stored bytes of doc: canonical JSON (lists sorted by
// id, map keys sorted), gzip with no timestamp.
func Encode(doc *Document) ([]byte, error) {
	doc.Upserts.Sort()
	for _, ids := range doc.Deletes {
		slices.Sort(ids)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding delta: %w", err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("compressing delta: %w", err)
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("compressing delta: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing delta: %w", err)
	}
	return buf.Bytes(), nil
}

// Seal encodes doc and signs it, returning the stored bytes and the
// pointer that names them.
func Seal(doc *Document, key ed25519.PrivateKey, now time.Time) ([]byte, Pointer, error) {
	if doc.Format == "" {
		doc.Format = snapshot.Format
	}
	if doc.CreatedAt == "" {
		doc.CreatedAt = now.UTC().Format(time.RFC3339Nano)
	}
	id := doc.Identity()
	if err := id.Check(); err != nil {
		return nil, Pointer{}, fmt.Errorf("sealing delta: %w", err)
	}
	if doc.Base < 1 || doc.Revision <= doc.Base {
		return nil, Pointer{}, fmt.Errorf("sealing delta: from revision %d to %d", doc.Base, doc.Revision)
	}
	data, err := Encode(doc)
	if err != nil {
		return nil, Pointer{}, err
	}
	sum := sha256.Sum256(data)
	return data, Pointer{
		ClusterID: doc.ClusterID,
		Epoch:     doc.Epoch,
		Base:      doc.Base,
		Revision:  doc.Revision,
		Key:       Key(id, doc.Base, doc.Revision),
		SHA256:    hex.EncodeToString(sum[:]),
		Size:      int64(len(data)),
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, sum[:])),
		Format:    doc.Format,
	}, nil
}

// Open verifies data against p and pub (one key or a snapshot.KeyRing) as
// snapshot.Verify does, then decodes it. The document's revisions and
// identity must equal the pointer's.
func Open(data []byte, p Pointer, pub ed25519.PublicKey) (*Document, error) {
	sp := snapshot.Pointer{Size: p.Size, SHA256: p.SHA256, Signature: p.Signature, Format: p.Format}
	if err := snapshot.Verify(data, sp, pub); err != nil {
		return nil, err
	}
	doc, err := Decode(data)
	if err != nil {
		return nil, err
	}
	if doc.Base != p.Base || doc.Revision != p.Revision {
		return nil, fmt.Errorf("%w: delta %d→%d, pointer %d→%d", snapshot.ErrRevision, doc.Base, doc.Revision, p.Base, p.Revision)
	}
	if doc.Identity() != p.Identity() {
		return nil, fmt.Errorf("%w: delta of %s, pointer of %s", snapshot.ErrIdentity, doc.Identity(), p.Identity())
	}
	return doc, nil
}
