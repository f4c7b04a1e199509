package objstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// Dir is a Store on a local directory, with the same layout as the bucket
// (<dir>/snapshots/…, <dir>/latest.json). Conditional writes are atomic
// across processes: create-only puts use a hard link, which fails when the
// name exists, and compare-and-swap puts hold an exclusive lock on
// <dir>/.lock.
type Dir struct {
	root string
	mu   sync.Mutex
}

var (
	_ Store   = (*Dir)(nil)
	_ Limiter = (*Dir)(nil)
)

// NewDir returns a Store rooted at dir, creating it if needed.
func NewDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating object directory %s: %w", dir, err)
	}
	return &Dir{root: dir}, nil
}

// Root returns the directory.
func (d *Dir) Root() string { return d.root }

func (d *Dir) path(key string) (string, error) {
	clean := filepath.Clean("/" + key)
	if key == "" || strings.HasSuffix(key, "/") || clean != "/"+key {
		return "", fmt.Errorf("invalid object key %q", key)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// ETag returns the ETag a Dir gives data: its quoted hex SHA-256.
func ETag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// Get implements Store: GetMax bounded by MaxObjectSize.
func (d *Dir) Get(ctx context.Context, key string) ([]byte, string, error) {
	return d.GetMax(ctx, key, MaxObjectSize)
}

// GetMax implements Limiter. An object must be a regular file: a symbolic
// link, a FIFO or a device under the directory is refused with
// ErrNotRegular, not followed, waited on or read.
func (d *Dir) GetMax(_ context.Context, key string, max int64) ([]byte, string, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, "", err
	}
	data, _, err := ReadRegularFile(p, max)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("reading %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", key, err)
	}
	return data, ETag(data), nil
}

// Put implements Store.
func (d *Dir) Put(_ context.Context, key string, data []byte, cond Condition) (string, error) {
	p, err := d.path(key)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("writing %s: %w", key, err)
	}
	tmp, err := writeTemp(p, data)
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", key, err)
	}
	defer os.Remove(tmp)
	if cond.IfNoneMatch {
		if err := os.Link(tmp, p); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return "", fmt.Errorf("writing %s: %w", key, ErrPrecondition)
			}
			return "", fmt.Errorf("writing %s: %w", key, err)
		}
		syncDir(filepath.Dir(p))
		return ETag(data), nil
	}
	unlock, err := d.lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	if cond.IfMatch != "" {
		cur, _, err := ReadRegularFile(p, MaxObjectSize)
		if err != nil || ETag(cur) != cond.IfMatch {
			return "", fmt.Errorf("writing %s: %w", key, ErrPrecondition)
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", fmt.Errorf("writing %s: %w", key, err)
	}
	syncDir(filepath.Dir(p))
	return ETag(data), nil
}

// Delete implements Store.
func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	return nil
}

// List implements Store.
func (d *Dir) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		k := filepath.ToSlash(rel)
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// lock takes the in-process mutex and an exclusive flock on <root>/.lock.
func (d *Dir) lock() (func(), error) {
	d.mu.Lock()
	f, err := os.OpenFile(filepath.Join(d.root, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		d.mu.Unlock()
		return nil, fmt.Errorf("locking %s: %w", d.root, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		d.mu.Unlock()
		return nil, fmt.Errorf("locking %s: %w", d.root, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
		d.mu.Unlock()
	}, nil
}

func writeTemp(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), f.Close()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
