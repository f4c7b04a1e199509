package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// The cache's first layout: two files replaced one after the other, which
// a crash between the two renames left disagreeing.
const (
	oldSnapshotFile = "cache.json.gz"
	oldPointerFile  = "cache.pointer.json"
)

// Migrate moves a cache in the first layout (two files) to the current
// one, once: a pair that verifies (with the same checks as Load) is saved
// as File, and the old files are removed either way. It reports whether a
// pair was migrated; an error says why one was found but not migrated
// (it is removed all the same, so the error is reported once).
func (c *Cache) Migrate() (bool, error) {
	ptrPath, snapPath := filepath.Join(c.dir, oldPointerFile), filepath.Join(c.dir, oldSnapshotFile)
	_, errPtr := os.Lstat(ptrPath)
	_, errSnap := os.Lstat(snapPath)
	if errors.Is(errPtr, fs.ErrNotExist) && errors.Is(errSnap, fs.ErrNotExist) {
		return false, nil
	}
	defer func() {
		os.Remove(ptrPath)
		os.Remove(snapPath)
	}()
	data, p, err := c.readOld(ptrPath, snapPath)
	if err != nil {
		return false, fmt.Errorf("cache in the old layout: %w", err)
	}
	if _, err := snapshot.Open(data, p, c.key); err != nil {
		return false, fmt.Errorf("cache in the old layout: %w", err)
	}
	if _, current, err := c.read(); err == nil && current.Revision >= p.Revision {
		return false, nil
	}
	if err := c.Save(data, p); err != nil {
		return false, fmt.Errorf("cache in the old layout: %w", err)
	}
	return true, nil
}

// readOld reads the old pair with the bounds and ownership checks of the
// current layout.
func (c *Cache) readOld(ptrPath, snapPath string) ([]byte, snapshot.Pointer, error) {
	if err := checkDir(c.dir); err != nil {
		return nil, snapshot.Pointer{}, err
	}
	raw, err := readOwned(ptrPath, snapshot.MaxPointer)
	if err != nil {
		return nil, snapshot.Pointer{}, err
	}
	var p snapshot.Pointer
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("%w: %w", snapshot.ErrCorrupt, err)
	}
	if err := p.Check(); err != nil {
		return nil, snapshot.Pointer{}, err
	}
	data, err := readOwned(snapPath, p.Size)
	if errors.Is(err, objstore.ErrTooLarge) {
		return nil, snapshot.Pointer{}, fmt.Errorf("%w: %w", snapshot.ErrSize, err)
	}
	if err != nil {
		return nil, snapshot.Pointer{}, err
	}
	return data, p, nil
}
