package objstore

import (
	"context"
	"errors"
	"fmt"
)

// ErrReadOnly: a write to a store that only reads (Failover).
var ErrReadOnly = errors.New("store is read-only")

// Failover reads from the first of several stores that answers: a data
// plane's fallback listing its home Region's bucket, then the others'
// (docs/multi-region.md). Every replica is as trustworthy as the next,
// since readers verify what they read; a store that fails or lacks the
// object (a replica not caught up yet) passes the read on to the next.
// It never writes.
type Failover struct {
	stores []Store
}

var (
	_ Store        = (*Failover)(nil)
	_ Limiter      = (*Failover)(nil)
	_ ChangeGetter = (*Failover)(nil)
)

// NewFailover reads from stores in order.
func NewFailover(stores ...Store) *Failover { return &Failover{stores: stores} }

// Get implements Store.
func (f *Failover) Get(ctx context.Context, key string) ([]byte, string, error) {
	return f.GetMax(ctx, key, MaxObjectSize)
}

// GetMax implements Limiter.
func (f *Failover) GetMax(ctx context.Context, key string, max int64) ([]byte, string, error) {
	return f.GetIfChanged(ctx, key, "", max)
}

// GetIfChanged implements ChangeGetter: the first store that answers with
// the object, or that it is unchanged, wins; when none does, the errors of
// every store, joined.
func (f *Failover) GetIfChanged(ctx context.Context, key, etag string, max int64) ([]byte, string, error) {
	var errs []error
	for _, s := range f.stores {
		data, got, err := GetIfChanged(ctx, s, key, etag, max)
		if err == nil || errors.Is(err, ErrNotModified) {
			return data, got, err
		}
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, "", fmt.Errorf("reading %s: %w (no stores)", key, ErrNotFound)
	}
	return nil, "", errors.Join(errs...)
}

// List implements Store: the first store that answers.
func (f *Failover) List(ctx context.Context, prefix string) ([]string, error) {
	var errs []error
	for _, s := range f.stores {
		keys, err := s.List(ctx, prefix)
		if err == nil {
			return keys, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// Put implements Store: refused.
func (f *Failover) Put(context.Context, string, []byte, Condition) (string, error) {
	return "", ErrReadOnly
}

// Delete implements Store: refused.
func (f *Failover) Delete(context.Context, string) error { return ErrReadOnly }
