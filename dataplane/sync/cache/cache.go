// Package cache is a data plane's last known good snapshot on disk: the
// stored bytes and the pointer that names them, verified with the
// publisher's key on every read, so a restart serves the configuration it
// last applied even when the control plane and the object store are gone.
package cache

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// File names inside the cache directory.
const (
	SnapshotFile = "cache.json.gz"
	PointerFile  = "cache.pointer.json"
)

// fileMode keeps the cached configuration (it holds credentials and
// private keys) readable by the data plane's user alone.
const fileMode = 0o600

// ErrEmpty reports a cache with nothing in it yet.
var ErrEmpty = errors.New("cache empty")

// Cache is a directory holding one snapshot.
type Cache struct {
	dir string
	key ed25519.PublicKey
}

// New returns the cache in dir, verified with key.
func New(dir string, key ed25519.PublicKey) *Cache {
	return &Cache{dir: dir, key: key}
}

// Load reads and verifies the cached snapshot. It returns ErrEmpty when
// there is none, and the snapshot package's errors (ErrSize, ErrDigest,
// ErrSignature, …) when what is there does not verify.
func (c *Cache) Load() (*snapshot.Document, snapshot.Pointer, error) {
	raw, err := os.ReadFile(filepath.Join(c.dir, PointerFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, snapshot.Pointer{}, ErrEmpty
	}
	if err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("reading cached pointer: %w", err)
	}
	var p snapshot.Pointer
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("reading cached pointer: %w: %w", snapshot.ErrCorrupt, err)
	}
	data, err := os.ReadFile(filepath.Join(c.dir, SnapshotFile))
	if err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("reading cached snapshot: %w", err)
	}
	doc, err := snapshot.Open(data, p, c.key)
	if err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("opening cached snapshot: %w", err)
	}
	return doc, p, nil
}

// Save stores data and its pointer. The snapshot is written first and the
// pointer last, each atomically, so a crash in between leaves the old pair
// or a pair that fails verification, never a wrong configuration.
func (c *Cache) Save(data []byte, p snapshot.Pointer) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("creating cache directory: %w", err)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding cached pointer: %w", err)
	}
	if err := snapshot.WriteFileAtomic(filepath.Join(c.dir, SnapshotFile), data, fileMode); err != nil {
		return fmt.Errorf("caching snapshot: %w", err)
	}
	if err := snapshot.WriteFileAtomic(filepath.Join(c.dir, PointerFile), raw, fileMode); err != nil {
		return fmt.Errorf("caching pointer: %w", err)
	}
	return nil
}
