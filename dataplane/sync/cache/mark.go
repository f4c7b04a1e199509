package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// MarkFile holds the high-water mark, beside File.
const MarkFile = "applied.json"

// Mark is the newest revision saved to the cache, with its digest and the
// cluster identity it belongs to: a boot never goes back before it within
// that identity, and a snapshot of another identity replaces it only by
// Replace (a new epoch, or a cluster the data plane was told to adopt).
type Mark struct {
	Revision int64  `json:"revision"`
	SHA256   string `json:"sha256"`
	// ClusterID and Epoch are the snapshot's identity; empty in a mark
	// saved before identities existed (or of an unidentified snapshot).
	ClusterID string `json:"cluster_id,omitempty"`
	Epoch     int64  `json:"epoch,omitempty"`
	// Delta is set when the revision was reached by a delta (DeltaFile),
	// SHA256 being the delta's: the revision's snapshot may replace it.
	Delta bool `json:"delta,omitempty"`
}

// Identity returns the cluster and epoch of the marked revision.
func (m Mark) Identity() snapshot.Identity {
	return snapshot.Identity{ClusterID: m.ClusterID, Epoch: m.Epoch}
}

// behind reports whether p may not be saved over m by Save: another
// identity, an older revision, or the same revision with another digest.
func (m Mark) behind(p snapshot.Pointer) bool {
	if m.Revision == 0 {
		return false
	}
	return p.Identity() != m.Identity() || p.Revision < m.Revision || (p.Revision == m.Revision && p.SHA256 != m.SHA256 && !m.Delta)
}

// Mark returns the high-water mark: the zero Mark when nothing was saved.
func (c *Cache) Mark() (Mark, error) { return c.mark() }

// mark reads the mark; the zero Mark when there is none.
func (c *Cache) mark() (Mark, error) {
	raw, err := readOwned(filepath.Join(c.dir, MarkFile), snapshot.MaxPointer)
	if errors.Is(err, fs.ErrNotExist) {
		return Mark{}, nil
	}
	if err != nil {
		return Mark{}, fmt.Errorf("reading the applied revision: %w", err)
	}
	var m Mark
	if err := json.Unmarshal(raw, &m); err != nil || m.Revision < 1 || m.Identity().Check() != nil {
		return Mark{}, fmt.Errorf("reading the applied revision: %w: %q", snapshot.ErrCorrupt, raw)
	}
	return m, nil
}

// advance moves the mark to p's revision, never backwards within p's
// identity; replace moves it to p whatever it was.
func (c *Cache) advance(p snapshot.Pointer, replace bool) error {
	if m, err := c.mark(); err == nil && !replace && m.Identity() == p.Identity() && m.Revision >= p.Revision {
		return nil
	}
	raw, err := json.Marshal(Mark{Revision: p.Revision, SHA256: p.SHA256, ClusterID: p.ClusterID, Epoch: p.Epoch})
	if err != nil {
		return fmt.Errorf("encoding the applied revision: %w", err)
	}
	if err := snapshot.WriteFileAtomic(filepath.Join(c.dir, MarkFile), raw, fileMode); err != nil {
		return fmt.Errorf("storing the applied revision: %w", err)
	}
	return nil
}

// readOwned reads the regular file at path, owned and writable by this
// process's user alone, at most max bytes.
func readOwned(path string, max int64) ([]byte, error) {
	f, fi, err := openOwned(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := objstore.ReadExactly(f, fi.Size(), max)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}
