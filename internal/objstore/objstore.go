// Package objstore is the object storage snapshots live in: S3 in AWS, a
// directory locally, behind one interface with S3's conditional-write
// semantics, so the publisher's forward-only pointer and create-only
// snapshots work the same on both.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors every implementation returns, checked with errors.Is.
var (
	// ErrNotFound: no object at the key.
	ErrNotFound = errors.New("object not found")
	// ErrPrecondition: the If-None-Match or If-Match condition failed (or
	// a concurrent conflicting write won).
	ErrPrecondition = errors.New("precondition failed")
	// ErrTooLarge: the object is larger than the reader allows.
	ErrTooLarge = errors.New("object larger than allowed")
	// ErrNotModified: a conditional read found the object unchanged
	// (its ETag is still the one the reader holds).
	ErrNotModified = errors.New("object not modified")
	// ErrNotRegular: a file where an object was expected is not a regular
	// file (a symbolic link, a FIFO, a device, a directory).
	ErrNotRegular = errors.New("not a regular file")
)

// Condition guards a Put.
type Condition struct {
	// IfNoneMatch creates only: the put fails if the key exists.
	IfNoneMatch bool
	// IfMatch replaces only the object with this ETag.
	IfMatch string
}

// Store is a bucket (and prefix), or a directory with the same layout.
type Store interface {
	// Get returns the object and its ETag.
	Get(ctx context.Context, key string) (data []byte, etag string, err error)
	// Put writes the object under cond and returns its new ETag.
	Put(ctx context.Context, key string, data []byte, cond Condition) (etag string, err error)
	// Delete removes the object; absent is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the keys below prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Pager is implemented by stores that list keys a page at a time.
type Pager interface {
	// ListPage returns at most max keys below prefix that sort after
	// after ("" for the first), sorted; fewer than max only when no
	// more follow.
	ListPage(ctx context.Context, prefix, after string, max int) ([]string, error)
}

// ListPage lists at most max keys of s below prefix that sort after
// after, sorted, fewer than max only when no more follow: through s's
// own ListPage when it has one, else from List.
func ListPage(ctx context.Context, s Store, prefix, after string, max int) ([]string, error) {
	if p, ok := s.(Pager); ok {
		return p.ListPage(ctx, prefix, after, max)
	}
	keys, err := s.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	i, _ := slices.BinarySearch(keys, after)
	if i < len(keys) && keys[i] == after {
		i++
	}
	return keys[i:min(i+max, len(keys))], nil
}

// Limiter is implemented by stores that can refuse an object larger than
// max without reading more of it than max+1 bytes.
type Limiter interface {
	GetMax(ctx context.Context, key string, max int64) (data []byte, etag string, err error)
}

// GetMax reads key from s, refusing an object larger than max bytes with
// ErrTooLarge: through s's own GetMax when it has one, else after Get.
func GetMax(ctx context.Context, s Store, key string, max int64) ([]byte, string, error) {
	if l, ok := s.(Limiter); ok {
		return l.GetMax(ctx, key, max)
	}
	data, etag, err := s.Get(ctx, key)
	if err != nil {
		return nil, "", err
	}
	if int64(len(data)) > max {
		return nil, "", fmt.Errorf("reading %s: %w (%d bytes, at most %d)", key, ErrTooLarge, len(data), max)
	}
	return data, etag, nil
}

// ChangeGetter is implemented by stores that can make a read conditional
// on the ETag the reader holds (HTTP's If-None-Match), so an unchanged
// object costs no body.
type ChangeGetter interface {
	GetIfChanged(ctx context.Context, key, etag string, max int64) (data []byte, newETag string, err error)
}

// GetIfChanged reads key from s, at most max bytes, unless its ETag is
// still etag: then it returns ErrNotModified. An empty etag reads
// unconditionally. Stores without a conditional read are read in full and
// compared.
func GetIfChanged(ctx context.Context, s Store, key, etag string, max int64) ([]byte, string, error) {
	if c, ok := s.(ChangeGetter); ok {
		return c.GetIfChanged(ctx, key, etag, max)
	}
	data, got, err := GetMax(ctx, s, key, max)
	if err != nil {
		return nil, "", err
	}
	if etag != "" && got == etag {
		return nil, got, fmt.Errorf("reading %s: %w", key, ErrNotModified)
	}
	return data, got, nil
}

// Presigner is implemented by stores that can hand out a short-lived URL
// for a GET, for data planes without credentials.
type Presigner interface {
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// PutPresigner is implemented by stores that can hand out a short-lived
// URL that uploads one object with a plain PUT, for clients without
// credentials of the store (a configuration import's upload).
type PutPresigner interface {
	PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Tagger is implemented by stores that can label an object, so that a
// lifecycle rule can expire it (the publisher marks superseded snapshots).
type Tagger interface {
	Tag(ctx context.Context, key string, tags map[string]string) error
}
