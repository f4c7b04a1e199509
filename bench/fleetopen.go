package main

import (
	"crypto/ed25519"
	"fmt"
	"sync"

	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// sharedDecoder is the simulated fleet's dpsync.Decoder. Every data plane
// verifies the bytes it fetched against its own pointer (size, SHA-256
// and Ed25519 signature: snapshot.Verify) and checks the document's
// revisions and identity against it, as a data plane does; but a
// document is decoded once per verified digest, and a delta applied once
// per (base configuration, delta), and the result shared, since the data
// planes run in one process and the same inputs give the same
// configuration (whose hash delta.Apply checked the first time). Real data
// planes pay the decoding and the apply on their own CPUs; here N of them
// would share the control plane's two cores.
type sharedDecoder struct {
	mu     sync.Mutex
	docs   map[string]*snapshot.Document
	deltas map[string]*delta.Document
	// applied are delta results by base and delta; hashes the shared
	// configurations' hashes, which every simulated data plane reports.
	applied map[appliedKey]appliedResult
	hashes  map[*model.Config]string
}

type appliedKey struct {
	base *model.Config
	doc  *delta.Document
}

// appliedResult is a delta's result and its digest.
type appliedResult struct {
	cfg    *model.Config
	digest snapshot.Digest
}

var _ dpsync.Decoder = (*sharedDecoder)(nil)

func newSharedDecoder() *sharedDecoder {
	return &sharedDecoder{docs: map[string]*snapshot.Document{}, deltas: map[string]*delta.Document{},
		applied: map[appliedKey]appliedResult{}, hashes: map[*model.Config]string{}}
}

// OpenSnapshot implements dpsync.Decoder.
func (s *sharedDecoder) OpenSnapshot(data []byte, p snapshot.Pointer, key ed25519.PublicKey) (*snapshot.Document, error) {
	if err := snapshot.Verify(data, p, key); err != nil {
		return nil, err
	}
	s.mu.Lock()
	doc := s.docs[p.SHA256]
	s.mu.Unlock()
	if doc == nil {
		d, err := snapshot.Open(data, p, key)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if doc = s.docs[p.SHA256]; doc == nil {
			doc = d
			s.docs[p.SHA256] = d
			s.hashes[&d.Config] = snapshot.ConfigHash(&d.Config)
		}
		s.mu.Unlock()
	}
	// snapshot.Open's checks after decoding, against this pointer.
	if doc.Revision != p.Revision {
		return nil, fmt.Errorf("%w: document %d, pointer %d", snapshot.ErrRevision, doc.Revision, p.Revision)
	}
	if doc.Identity() != p.Identity() {
		return nil, fmt.Errorf("%w: document of %s, pointer of %s", snapshot.ErrIdentity, doc.Identity(), p.Identity())
	}
	return doc, nil
}

// OpenDelta implements dpsync.Decoder.
func (s *sharedDecoder) OpenDelta(data []byte, p delta.Pointer, key ed25519.PublicKey) (*delta.Document, error) {
	sp := snapshot.Pointer{Size: p.Size, SHA256: p.SHA256, Signature: p.Signature, Format: p.Format}
	if err := snapshot.Verify(data, sp, key); err != nil {
		return nil, err
	}
	s.mu.Lock()
	doc := s.deltas[p.SHA256]
	s.mu.Unlock()
	if doc == nil {
		d, err := delta.Open(data, p, key)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if doc = s.deltas[p.SHA256]; doc == nil {
			doc = d
			s.deltas[p.SHA256] = d
		}
		s.mu.Unlock()
	}
	// delta.Open's checks after decoding, against this pointer.
	if doc.Base != p.Base || doc.Revision != p.Revision {
		return nil, fmt.Errorf("%w: delta %d→%d, pointer %d→%d", snapshot.ErrRevision, doc.Base, doc.Revision, p.Base, p.Revision)
	}
	if doc.Identity() != p.Identity() {
		return nil, fmt.Errorf("%w: delta of %s, pointer of %s", snapshot.ErrIdentity, doc.Identity(), p.Identity())
	}
	return doc, nil
}

// ApplyDelta implements dpsync.Decoder.
func (s *sharedDecoder) ApplyDelta(base *model.Config, digest snapshot.Digest, baseRev int64, doc *delta.Document) (*model.Config, snapshot.Digest, error) {
	if doc.Base != baseRev {
		return nil, digest, fmt.Errorf("%w: delta from revision %d applied to %d", delta.ErrBase, doc.Base, baseRev)
	}
	k := appliedKey{base, doc}
	s.mu.Lock()
	r, ok := s.applied[k]
	s.mu.Unlock()
	if ok {
		return r.cfg, r.digest, nil
	}
	cfg, out, err := delta.ApplyDigest(base, digest, baseRev, doc)
	if err != nil {
		return nil, digest, err
	}
	s.mu.Lock()
	if prev, ok := s.applied[k]; ok {
		cfg, out = prev.cfg, prev.digest
	} else {
		s.applied[k] = appliedResult{cfg, out}
		s.hashes[cfg] = doc.ConfigHash
	}
	s.mu.Unlock()
	return cfg, out, nil
}

// hash returns cfg's hash, computed once for a shared configuration.
func (s *sharedDecoder) hash(cfg *model.Config) string {
	s.mu.Lock()
	h, ok := s.hashes[cfg]
	s.mu.Unlock()
	if ok {
		return h
	}
	return snapshot.ConfigHash(cfg)
}
