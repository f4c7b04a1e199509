// Package certstore is certmagic's Storage on an objstore.Store: data
// planes that share a bucket (or a directory) share their ACME accounts,
// certificates and issuance locks, so a certificate is obtained once for
// the whole fleet.
//
// Layout under the store: certmagic's keys live below "data/" verbatim
// ("data/certificates/<issuer>/<name>/<name>.crt", …) and locks below
// "locks/<name>", each lock a JSON document {"owner", "token", "expires"}
// created with If-None-Match and taken over, once expired, with If-Match.
package certstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/objstore"
)

const (
	dataPrefix = "data/"
	lockPrefix = "locks/"
)

var (
	_ certmagic.Storage          = (*Storage)(nil)
	_ certmagic.LockLeaseRenewer = (*Storage)(nil)
)

// Storage implements certmagic.Storage on an objstore.Store. It is safe
// for concurrent use; Close stops the lock keep-alives it runs.
type Storage struct {
	store objstore.Store
	owner string
	ttl   time.Duration
	poll  time.Duration
	now   func() time.Time

	mu   sync.Mutex
	held map[string]*heldLock
	wg   sync.WaitGroup
}

// Option configures a Storage.
type Option func(*Storage)

// WithLockTTL sets how long a lock lives without a keep-alive; a holder
// renews it every third of that. Default one minute.
func WithLockTTL(d time.Duration) Option { return func(s *Storage) { s.ttl = d } }

// WithPollInterval sets how often Lock retries a lock held by someone
// else. Default one second.
func WithPollInterval(d time.Duration) Option { return func(s *Storage) { s.poll = d } }

// WithClock sets the clock lock expiries are written and judged by.
// Default time.Now.
func WithClock(now func() time.Time) Option { return func(s *Storage) { s.now = now } }

// New returns a Storage on store.
func New(store objstore.Store, opts ...Option) *Storage {
	s := &Storage{
		store: store,
		owner: uuid.NewString(),
		ttl:   time.Minute,
		poll:  time.Second,
		now:   time.Now,
		held:  map[string]*heldLock{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// String identifies the storage in certmagic's logs.
func (s *Storage) String() string { return "certstore:" + s.owner }

// Store implements certmagic.Storage.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	if _, err := s.store.Put(ctx, dataPrefix+key, value, objstore.Condition{}); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	return nil
}

// Load implements certmagic.Storage; an absent key is fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	data, _, err := s.store.Get(ctx, dataPrefix+key)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", key, notExist(err))
	}
	return data, nil
}

// Delete implements certmagic.Storage: the key and every key below it.
func (s *Storage) Delete(ctx context.Context, key string) error {
	below, err := s.below(ctx, dataPrefix+key+"/")
	if err != nil {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	if len(below) == 0 {
		below = []string{dataPrefix + key}
	}
	for _, k := range below {
		if err := s.store.Delete(ctx, k); err != nil {
			return fmt.Errorf("deleting %s: %w", key, err)
		}
	}
	return nil
}

// Exists implements certmagic.Storage: a file or a directory.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// Stat implements certmagic.Storage; an absent key is fs.ErrNotExist.
// Modified is left zero: the object store does not report it.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	data, _, err := s.store.Get(ctx, dataPrefix+key)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Size: int64(len(data)), IsTerminal: true}, nil
	}
	// Not a file (a directory store answers "is a directory"): a
	// directory if any key lies below it.
	below, lerr := s.below(ctx, dataPrefix+key+"/")
	if lerr != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("stat %s: %w", key, lerr)
	}
	if len(below) == 0 {
		return certmagic.KeyInfo{}, fmt.Errorf("stat %s: %w", key, fs.ErrNotExist)
	}
	return certmagic.KeyInfo{Key: key}, nil
}

// List implements certmagic.Storage: the children of dir, or with
// recursive every file and directory below it; an empty or absent
// directory is fs.ErrNotExist.
func (s *Storage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	prefix := dataPrefix
	if dir != "" {
		prefix += dir + "/"
	}
	keys, err := s.below(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("listing %s: %w", dir, fs.ErrNotExist)
	}
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		parts := strings.Split(strings.TrimPrefix(k, prefix), "/")
		n := 1
		if recursive {
			n = len(parts)
		}
		for i := 1; i <= n; i++ {
			name := path.Join(dir, strings.Join(parts[:i], "/"))
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// below lists the keys under prefix (which ends in "/").
func (s *Storage) below(ctx context.Context, prefix string) ([]string, error) {
	keys, err := s.store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(keys, func(k string) bool { return !strings.HasPrefix(k, prefix) }), nil
}

// notExist maps objstore.ErrNotFound to fs.ErrNotExist, as certmagic
// expects, keeping the original error's text.
func notExist(err error) error {
	if errors.Is(err, objstore.ErrNotFound) {
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return err
}
