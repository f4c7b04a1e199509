// Package cache is a data plane's last known good snapshot on disk, so a
// restart serves the configuration it last applied even when the control
// plane and the object store are gone.
//
// The cache is one file, File, replaced atomically (written to a
// temporary name, synced, renamed): a header line, the snapshot's pointer
// on one line, then the stored snapshot bytes. Beside it, MarkFile holds
// the high-water mark: the newest revision (and digest) ever saved. A read
// trusts nothing it finds: both files must be regular files owned by the
// process's user and writable by no one else, in a directory of the same
// kind, are read with bounds, and the snapshot is verified with the
// publisher's key; a snapshot older than the mark, or of another cluster
// identity than the mark's, is refused. Beside them, DeltaFile holds the
// deltas applied since the snapshot, verified and applied on top of it at
// boot.
package cache

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// File is the cache file's name inside the cache directory.
const File = "lkg.snapshot"

// header is the cache file's first line: its format and version.
const header = "skyport-cache 1\n"

// fileMode keeps the cached configuration (it holds credentials and
// private keys) readable by the data plane's user alone.
const fileMode = 0o600

// Errors of Load, beside the snapshot package's (ErrSize, ErrDigest,
// ErrSignature, …) for a cache that does not verify.
var (
	// ErrEmpty: nothing was ever cached here.
	ErrEmpty = errors.New("cache empty")
	// ErrLost: a revision was saved (the mark says so) but the cache file
	// is gone.
	ErrLost = errors.New("cache file missing")
	// ErrStale: the cached revision is older than the mark, the same
	// revision with another digest, or of another cluster or epoch than
	// the mark.
	ErrStale = errors.New("cached revision older than one already applied")
	// ErrUnsafe: a file or the directory is not a regular file (or
	// directory) owned by the process's user and writable by it alone.
	ErrUnsafe = errors.New("cache file not safe to trust")
)

// Cache is a directory holding one snapshot and its mark.
type Cache struct {
	dir string
	key ed25519.PublicKey
}

// New returns the cache in dir, verified with key.
func New(dir string, key ed25519.PublicKey) *Cache {
	return &Cache{dir: dir, key: key}
}

// Dir returns the cache directory.
func (c *Cache) Dir() string { return c.dir }

// Load reads and verifies the cached snapshot. It returns ErrEmpty when
// nothing was ever cached, ErrLost, ErrStale or ErrUnsafe when what is
// there must not be booted from, and the snapshot package's errors when
// it does not verify. The configuration comes packed (model.Config.Pack),
// decoded as a stream (snapshot.OpenPacked), as a fetched snapshot's: a
// data plane booting from a large cache never holds it unpacked.
func (c *Cache) Load() (*snapshot.Document, snapshot.Pointer, error) {
	if err := checkDir(c.dir); errors.Is(err, fs.ErrNotExist) {
		return nil, snapshot.Pointer{}, ErrEmpty
	} else if err != nil {
		return nil, snapshot.Pointer{}, err
	}
	m, err := c.mark()
	if err != nil {
		return nil, snapshot.Pointer{}, err
	}
	data, p, err := c.read()
	switch {
	case errors.Is(err, fs.ErrNotExist) && m.Revision == 0:
		return nil, snapshot.Pointer{}, ErrEmpty
	case errors.Is(err, fs.ErrNotExist):
		return nil, snapshot.Pointer{}, fmt.Errorf("%w: revision %d was saved", ErrLost, m.Revision)
	case err != nil:
		return nil, snapshot.Pointer{}, err
	}
	// The revision the cache reaches is its delta chain's end.
	reach := p
	if chain := c.chain(p); len(chain) > 0 {
		last := chain[len(chain)-1].Pointer
		reach.Revision, reach.SHA256 = last.Revision, last.SHA256
	}
	if m.behind(reach) {
		return nil, snapshot.Pointer{}, fmt.Errorf("%w: cached revision %d of %s, applied %d of %s", ErrStale, reach.Revision, p.Identity(), m.Revision, m.Identity())
	}
	doc, err := snapshot.OpenPacked(data, p, c.key)
	if err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("opening cached snapshot: %w", err)
	}
	return doc, p, nil
}

// read returns the cache file's snapshot bytes and pointer, unverified,
// reading no more than the header, the pointer's bound and the size the
// pointer names.
func (c *Cache) read() ([]byte, snapshot.Pointer, error) {
	f, fi, err := openOwned(filepath.Join(c.dir, File))
	if err != nil {
		return nil, snapshot.Pointer{}, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.LimitReader(f, int64(len(header))+snapshot.MaxPointer+1), 512)
	line, err := br.ReadString('\n')
	if err != nil || line != header {
		return nil, snapshot.Pointer{}, fmt.Errorf("reading cache file: %w: unknown header", snapshot.ErrCorrupt)
	}
	raw, err := br.ReadBytes('\n')
	if err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("reading cache file: %w: pointer line: %w", snapshot.ErrCorrupt, err)
	}
	var p snapshot.Pointer
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("reading cache file: %w: %w", snapshot.ErrCorrupt, err)
	}
	if err := p.Check(); err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("reading cache file: %w", err)
	}
	offset := int64(len(line) + len(raw))
	if got := fi.Size() - offset; got != p.Size {
		return nil, snapshot.Pointer{}, fmt.Errorf("reading cache file: %w: %d bytes, expected %d", snapshot.ErrSize, got, p.Size)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("reading cache file: %w", err)
	}
	data, err := objstore.ReadExactly(f, p.Size, p.Size)
	if err != nil {
		return nil, snapshot.Pointer{}, fmt.Errorf("reading cache file: %w: %w", snapshot.ErrSize, err)
	}
	return data, p, nil
}

// Save stores data and its pointer as one file, replaced atomically, then
// moves the mark to p: a crash at any point leaves the previous cache or
// the new one, each with a mark no newer than it. A snapshot older than
// the mark, or of another cluster or epoch, is refused with ErrStale,
// since Load would refuse it.
func (c *Cache) Save(data []byte, p snapshot.Pointer) error {
	return c.save(data, p, false)
}

// Replace is Save for a snapshot that replaces the mark whatever it holds:
// a new epoch of the cluster (whose revisions may be lower) or a cluster
// the data plane was told to adopt. The mark moves first, so a crash
// between the two writes leaves a cache that Load refuses rather than one
// that takes the data plane back to the identity it left.
func (c *Cache) Replace(data []byte, p snapshot.Pointer) error {
	return c.save(data, p, true)
}

func (c *Cache) save(data []byte, p snapshot.Pointer, replace bool) error {
	if err := p.Check(); err != nil {
		return fmt.Errorf("caching snapshot: %w", err)
	}
	if int64(len(data)) != p.Size {
		return fmt.Errorf("caching snapshot: %w: %d bytes, expected %d", snapshot.ErrSize, len(data), p.Size)
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("creating cache directory: %w", err)
	}
	if err := checkDir(c.dir); err != nil {
		return err
	}
	if replace {
		if err := c.advance(p, true); err != nil {
			return err
		}
		if err := c.write(data, p); err != nil {
			return err
		}
		return c.dropDeltas()
	}
	if m, err := c.mark(); err == nil && m.behind(p) {
		return fmt.Errorf("caching snapshot: %w: revision %d of %s, applied %d of %s", ErrStale, p.Revision, p.Identity(), m.Revision, m.Identity())
	}
	if err := c.write(data, p); err != nil {
		return err
	}
	if err := c.dropDeltas(); err != nil {
		return err
	}
	return c.advance(p, false)
}

// write replaces the cache file with data and p.
func (c *Cache) write(data []byte, p snapshot.Pointer) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding cached pointer: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(len(header) + len(raw) + 1 + len(data))
	buf.WriteString(header)
	buf.Write(raw)
	buf.WriteByte('\n')
	buf.Write(data)
	if err := snapshot.WriteFileAtomic(filepath.Join(c.dir, File), buf.Bytes(), fileMode); err != nil {
		return fmt.Errorf("caching snapshot: %w", err)
	}
	return nil
}
