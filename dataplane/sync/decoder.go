package sync

import (
	"crypto/ed25519"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// Decoder verifies and decodes what the client fetches. A process that
// runs many clients (the fleet simulator) may share decoded documents
// among them, provided every call verifies its own bytes against its
// pointer and checks its result as Standard does.
type Decoder interface {
	// OpenSnapshot is snapshot.Open's contract; the configuration may be
	// packed (model.Config.Pack).
	OpenSnapshot(data []byte, p snapshot.Pointer, key ed25519.PublicKey) (*snapshot.Document, error)
	// OpenDelta is delta.Open's contract.
	OpenDelta(data []byte, p delta.Pointer, key ed25519.PublicKey) (*delta.Document, error)
	// ApplyDelta is delta.ApplyDigest's contract: base (whose digest is
	// digest) is not modified; it returns the result and its digest, whose
	// hash is the delta's ConfigHash.
	ApplyDelta(base *model.Config, digest snapshot.Digest, baseRev int64, doc *delta.Document) (*model.Config, snapshot.Digest, error)
}

// Standard is the Decoder of the snapshot and delta packages.
type Standard struct{}

var _ Decoder = Standard{}

// OpenSnapshot implements Decoder with snapshot.OpenPacked: the
// configuration comes packed (model.Config.Pack), the form a data plane
// keeps it in, decoded as a stream.
func (Standard) OpenSnapshot(data []byte, p snapshot.Pointer, key ed25519.PublicKey) (*snapshot.Document, error) {
	return snapshot.OpenPacked(data, p, key)
}

// OpenDelta implements Decoder.
func (Standard) OpenDelta(data []byte, p delta.Pointer, key ed25519.PublicKey) (*delta.Document, error) {
	return delta.Open(data, p, key)
}

// ApplyDelta implements Decoder.
func (Standard) ApplyDelta(base *model.Config, digest snapshot.Digest, baseRev int64, doc *delta.Document) (*model.Config, snapshot.Digest, error) {
	return delta.ApplyDigest(base, digest, baseRev, doc)
}
