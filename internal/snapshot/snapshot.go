package snapshot

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
)

// Format is the format version this build writes; FormatMajor is the only
// major version it reads.
const (
	Format      = "1.0"
	FormatMajor = 1
)

// LatestKey is the pointer object's key below the prefix.
const LatestKey = "latest.json"

// Bounds on what a reader accepts, checked before anything is trusted.
const (
	// MaxDecompressed bounds the size of a decompressed snapshot.
	MaxDecompressed = 512 << 20
	// MaxStored bounds the stored (compressed) size a pointer may name.
	MaxStored = 256 << 20
	// MaxPointer bounds the size of an encoded pointer (latest.json),
	// chain included.
	MaxPointer = 32 << 10
	// MaxChain bounds the deltas a pointer chains after its full
	// snapshot (Pointer.Chain): a config notice carrying them, each with
	// a presigned URL, stays within a data plane's 64 KB message limit.
	MaxChain = 16
)

// Errors returned by Open, distinct so callers can report why.
var (
	ErrSize      = errors.New("snapshot size mismatch")
	ErrDigest    = errors.New("snapshot digest mismatch")
	ErrSignature = errors.New("snapshot signature invalid")
	ErrFormat    = errors.New("snapshot format unsupported")
	ErrRevision  = errors.New("snapshot revision mismatch")
	ErrCorrupt   = errors.New("snapshot corrupt")
)

// Document is a snapshot's content: the configuration at one revision.
type Document struct {
	// Format is "major.minor"; a reader refuses a major it does not know.
	Format string `json:"format"`
	// Revision is the control plane's revision the snapshot was built at.
	Revision int64 `json:"revision"`
	// CreatedAt is when the publisher built it (RFC 3339, UTC).
	CreatedAt string `json:"created_at"`
	// ClusterID and Epoch are the control plane's Identity the revision
	// belongs to; signed with the rest, so a pointer cannot lie about it.
	// Empty in a snapshot published before identities existed.
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
	// Config is every entity, references resolved by id.
	model.Config
}

// Pointer is latest.json, and the metadata a config notice carries.
type Pointer struct {
	// ClusterID and Epoch are the snapshot's Identity (its document's).
	ClusterID   string `json:"cluster_id,omitempty"`
	Epoch       int64  `json:"epoch,omitempty"`
	Revision    int64  `json:"revision"`
	Key         string `json:"key"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	Signature   string `json:"signature"`
	PublishedAt string `json:"published_at"`
	Format      string `json:"format"`
	// Delta, when set, names the delta (internal/delta) from an older
	// revision of the same identity to this one: a reader running its
	// base may apply it instead of the snapshot.
	Delta DeltaRef `json:"delta,omitzero"`
	// Full, when set (1 ≤ Full < Revision), says that Revision is
	// published as deltas only: Key, SHA256, Size, Signature and Format
	// name the full snapshot of revision Full (sealed at FullAt), and
	// Chain the deltas that lead from it to Revision, in order, each
	// signed and carrying its result's configuration hash. Zero: the
	// snapshot fields name Revision's own snapshot and Chain is empty.
	Full   int64      `json:"full,omitempty"`
	FullAt string     `json:"full_at,omitempty"`
	Chain  []DeltaRef `json:"chain,omitempty"`
}

// FullRevision is the revision of the snapshot the pointer's Key names:
// Full when the pointer chains deltas after it, else Revision.
func (p Pointer) FullRevision() int64 {
	if p.Full != 0 {
		return p.Full
	}
	return p.Revision
}

// FullPointer returns the pointer of the full snapshot p's Key names
// alone, without a chain or a delta: p itself when p chains nothing.
func (p Pointer) FullPointer() Pointer {
	if p.Full == 0 {
		p.Delta, p.Chain, p.FullAt = DeltaRef{}, nil, ""
		return p
	}
	at := p.FullAt
	if at == "" {
		at = p.PublishedAt
	}
	return Pointer{ClusterID: p.ClusterID, Epoch: p.Epoch, Revision: p.Full, Key: p.Key, SHA256: p.SHA256,
		Size: p.Size, Signature: p.Signature, PublishedAt: at, Format: p.Format}
}

// SameFull reports whether p and q name the same full snapshot.
func (p Pointer) SameFull(q Pointer) bool {
	return p.Identity() == q.Identity() && p.FullRevision() == q.FullRevision() && p.Key == q.Key && p.SHA256 == q.SHA256
}

// DeltaKey returns the object key of the delta from base to rev below the
// prefix: deltas/<cluster_id>/<epoch>/<base, 20 digits>-<rev, 20
// digits>.json.gz; deltas/<base>-<rev>.json.gz for the zero identity.
func DeltaKey(id Identity, base, rev int64) string {
	return DeltaPrefix(id) + fmt.Sprintf("%020d-%020d.json.gz", base, rev)
}

// DeltaPrefix is the directory of identity id's deltas:
// deltas/<cluster_id>/<epoch>/, deltas/ for the zero identity.
func DeltaPrefix(id Identity) string {
	if id.IsZero() {
		return "deltas/"
	}
	return fmt.Sprintf("deltas/%s/%d/", id.ClusterID, id.Epoch)
}

// DeltaRef names a stored delta to a pointer's revision and what
// verifies it; its identity and target revision are the pointer's.
type DeltaRef struct {
	Base int64 `json:"base"`
	// Revision is the delta's target; set in a Chain, where it is not
	// the pointer's for every delta but the last.
	Revision  int64  `json:"revision,omitempty"`
	Key       string `json:"key"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	Signature string `json:"signature"`
	Format    string `json:"format,omitempty"`
}

// Check refuses a pointer no reader should act on: a malformed identity,
// a revision below 1, a key other than its identity's Key(revision) (so a
// pointer cannot send a reader to another object), or a size outside
// 1..MaxStored (so what it names is read with a bound).
func (p Pointer) Check() error {
	id := p.Identity()
	if err := id.Check(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	switch {
	case p.Revision < 1:
		return fmt.Errorf("%w: pointer revision %d", ErrCorrupt, p.Revision)
	case p.Key != id.Key(p.FullRevision()):
		return fmt.Errorf("%w: pointer key %q for revision %d", ErrCorrupt, p.Key, p.FullRevision())
	case p.Size < 1 || p.Size > MaxStored:
		return fmt.Errorf("%w: pointer size %d (1 to %d bytes)", ErrSize, p.Size, MaxStored)
	}
	return p.checkChain()
}

// checkChain refuses a chain that does not lead, delta after delta, from
// the full snapshot's revision to the pointer's, with keys of its
// identity and sizes a reader bounds its reads by.
func (p Pointer) checkChain() error {
	if p.Full == 0 {
		if len(p.Chain) > 0 {
			return fmt.Errorf("%w: a chain without its full revision", ErrCorrupt)
		}
		return nil
	}
	switch {
	case p.Full < 1 || p.Full >= p.Revision:
		return fmt.Errorf("%w: full revision %d for revision %d", ErrCorrupt, p.Full, p.Revision)
	case len(p.Chain) < 1 || len(p.Chain) > MaxChain:
		return fmt.Errorf("%w: chain of %d deltas (1 to %d)", ErrCorrupt, len(p.Chain), MaxChain)
	}
	at := p.Full
	for i, d := range p.Chain {
		switch {
		case d.Base != at || d.Revision <= d.Base:
			return fmt.Errorf("%w: chain delta %d from revision %d to %d, expected from %d", ErrCorrupt, i, d.Base, d.Revision, at)
		case d.Key != DeltaKey(p.Identity(), d.Base, d.Revision):
			return fmt.Errorf("%w: chain delta key %q", ErrCorrupt, d.Key)
		case d.Size < 1 || d.Size > MaxStored:
			return fmt.Errorf("%w: chain delta size %d (1 to %d bytes)", ErrSize, d.Size, MaxStored)
		}
		at = d.Revision
	}
	if at != p.Revision {
		return fmt.Errorf("%w: chain ends at revision %d, the pointer's is %d", ErrCorrupt, at, p.Revision)
	}
	return nil
}

// Identity returns the cluster and epoch the pointer names.
func (p Pointer) Identity() Identity { return Identity{ClusterID: p.ClusterID, Epoch: p.Epoch} }

// Identity returns the cluster and epoch of the document.
func (d *Document) Identity() Identity { return Identity{ClusterID: d.ClusterID, Epoch: d.Epoch} }

// Key returns the object key of revision rev's snapshot below the prefix
// for an unidentified snapshot (Identity.Key for the others).
func Key(rev int64) string { return fmt.Sprintf("snapshots/%020d.json.gz", rev) }

// Encode returns the stored bytes of doc: canonical JSON (lists sorted by
// id, map keys sorted: json.Marshal's bytes), gzip with no timestamp, in
// members that follow the entities' ids (segment.go), so equal documents
// encode to equal bytes. The JSON is written into the compressor an
// entity at a time, never whole.
func Encode(doc *Document) ([]byte, error) {
	data, _, err := EncodeReusing(doc, nil)
	return data, err
}

// Seal encodes doc and signs it, returning the stored bytes and the
// pointer that names them.
func Seal(doc *Document, key ed25519.PrivateKey, now time.Time) ([]byte, Pointer, error) {
	data, p, _, err := SealReusing(doc, key, now, nil)
	return data, p, err
}

// SealReusing is Seal reusing the members of prev, an earlier seal's
// segments (nil: none), and returning this seal's: the same bytes and
// pointer as Seal, at a cost that follows the entities changed since prev
// rather than the configuration.
func SealReusing(doc *Document, key ed25519.PrivateKey, now time.Time, prev *Segments) ([]byte, Pointer, *Segments, error) {
	if doc.Format == "" {
		doc.Format = Format
	}
	if doc.CreatedAt == "" {
		doc.CreatedAt = now.UTC().Format(time.RFC3339Nano)
	}
	id := doc.Identity()
	if err := id.Check(); err != nil {
		return nil, Pointer{}, nil, fmt.Errorf("sealing snapshot: %w", err)
	}
	data, segs, err := EncodeReusing(doc, prev)
	if err != nil {
		return nil, Pointer{}, nil, err
	}
	sum := sha256.Sum256(data)
	return data, Pointer{
		ClusterID:   doc.ClusterID,
		Epoch:       doc.Epoch,
		Revision:    doc.Revision,
		Key:         id.Key(doc.Revision),
		SHA256:      hex.EncodeToString(sum[:]),
		Size:        int64(len(data)),
		Signature:   base64.StdEncoding.EncodeToString(ed25519.Sign(key, sum[:])),
		PublishedAt: now.UTC().Format(time.RFC3339Nano),
		Format:      doc.Format,
	}, segs, nil
}

// Verify checks data against the pointer's size, digest and signature.
// pub is one public key or a key ring (KeyRing): a signature by any of its
// keys is accepted.
func Verify(data []byte, p Pointer, pub ed25519.PublicKey) error {
	if int64(len(data)) != p.Size {
		return fmt.Errorf("%w: %d bytes, expected %d", ErrSize, len(data), p.Size)
	}
	sum := sha256.Sum256(data)
	want, err := hex.DecodeString(p.SHA256)
	if err != nil || !bytes.Equal(sum[:], want) {
		return fmt.Errorf("%w: got %x", ErrDigest, sum)
	}
	sig, err := base64.StdEncoding.DecodeString(p.Signature)
	if err != nil || !signedByAny(RingKeys(pub), sum[:], sig) {
		return ErrSignature
	}
	if err := checkFormat(p.Format); err != nil && p.Format != "" {
		return err
	}
	return nil
}

func signedByAny(keys []ed25519.PublicKey, msg, sig []byte) bool {
	for _, k := range keys {
		if ed25519.Verify(k, msg, sig) {
			return true
		}
	}
	return false
}

// Open verifies data against p and pub, then decodes it. The document's
// revision and identity must equal the pointer's.
func Open(data []byte, p Pointer, pub ed25519.PublicKey) (*Document, error) {
	return open(data, p, pub, Decode)
}

// open verifies data against p and pub, decodes it with decode, and
// checks that the document's revision and identity are the pointer's.
func open(data []byte, p Pointer, pub ed25519.PublicKey, decode func([]byte) (*Document, error)) (*Document, error) {
	if err := Verify(data, p, pub); err != nil {
		return nil, err
	}
	doc, err := decode(data)
	if err != nil {
		return nil, err
	}
	if doc.Revision != p.Revision {
		return nil, fmt.Errorf("%w: document %d, pointer %d", ErrRevision, doc.Revision, p.Revision)
	}
	if doc.Identity() != p.Identity() {
		return nil, fmt.Errorf("%w: document of %s, pointer of %s", ErrIdentity, doc.Identity(), p.Identity())
	}
	return doc, nil
}

func checkFormat(f string) error {
	major, _, _ := strings.Cut(f, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n != FormatMajor {
		return fmt.Errorf("%w: %q (this build reads %d.x)", ErrFormat, f, FormatMajor)
	}
	return nil
}

// Equal reports whether p and q are the same pointer, chain included.
func (p Pointer) Equal(q Pointer) bool {
	return p.ClusterID == q.ClusterID && p.Epoch == q.Epoch && p.Revision == q.Revision && p.Key == q.Key &&
		p.SHA256 == q.SHA256 && p.Size == q.Size && p.Signature == q.Signature && p.PublishedAt == q.PublishedAt &&
		p.Format == q.Format && p.Delta == q.Delta && p.Full == q.Full && p.FullAt == q.FullAt && slices.Equal(p.Chain, q.Chain)
}
