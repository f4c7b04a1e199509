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

// Mark is the newest revision saved to the cache, with its digest: a boot
// never goes back before it.
type Mark struct {
	Revision int64  `json:"revision"`
	SHA256   string `json:"sha256"`
}

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
	if err := json.Unmarshal(raw, &m); err != nil || m.Revision < 1 {
		return Mark{}, fmt.Errorf("reading the applied revision: %w: %q", snapshot.ErrCorrupt, raw)
	}
	return m, nil
}

// advance moves the mark to p's revision, never backwards.
func (c *Cache) advance(p snapshot.Pointer) error {
	if m, err := c.mark(); err == nil && m.Revision >= p.Revision {
		return nil
	}
	raw, err := json.Marshal(Mark{Revision: p.Revision, SHA256: p.SHA256})
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
