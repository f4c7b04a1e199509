package certstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/objstore"
)

var (
	// ErrNotLocked: Unlock or RenewLockLease for a lock this Storage does
	// not hold.
	ErrNotLocked = errors.New("lock not held")
	// ErrLockLost: the lock expired and another holder took it over.
	ErrLockLost = errors.New("lock lost to another holder")
)

// lockBody is the content of a lock object.
type lockBody struct {
	Owner   string    `json:"owner"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// heldLock is a lock this Storage holds, with its keep-alive.
type heldLock struct {
	key    string
	token  string
	etag   string // guarded by Storage.mu
	cancel context.CancelFunc
	done   chan struct{}
}

// Lock implements certmagic.Locker: it creates the lock object, or takes
// it over once its holder let it expire, and retries until ctx is done.
func (s *Storage) Lock(ctx context.Context, name string) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("locking %s: %w", name, ctx.Err())
		case <-t.C:
		}
		ok, err := s.tryLock(ctx, name)
		if err != nil {
			return fmt.Errorf("locking %s: %w", name, err)
		}
		if ok {
			return nil
		}
		t.Reset(s.poll)
	}
}

// tryLock makes one attempt; false means someone else holds the lock.
func (s *Storage) tryLock(ctx context.Context, name string) (bool, error) {
	key := lockPrefix + name
	token := uuid.NewString()
	body := s.body(token, s.ttl)
	etag, err := s.store.Put(ctx, key, body, objstore.Condition{IfNoneMatch: true})
	if errors.Is(err, objstore.ErrPrecondition) {
		etag, err = s.takeOver(ctx, key, body)
	}
	if err != nil || etag == "" {
		return false, err
	}
	kctx, cancel := context.WithCancel(context.Background())
	h := &heldLock{key: key, token: token, etag: etag, cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.held[name] = h
	s.mu.Unlock()
	s.wg.Go(func() { s.keepAlive(kctx, h) })
	return true, nil
}

// takeOver replaces an expired (or unreadable) lock object; "" means the
// lock is live or another taker won.
func (s *Storage) takeOver(ctx context.Context, key string, body []byte) (string, error) {
	data, etag, err := s.store.Get(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var cur lockBody
	if json.Unmarshal(data, &cur) == nil && s.now().Before(cur.Expires) {
		return "", nil
	}
	tag, err := s.store.Put(ctx, key, body, objstore.Condition{IfMatch: etag})
	if errors.Is(err, objstore.ErrPrecondition) {
		return "", nil
	}
	return tag, err
}

// keepAlive pushes the lock's expiry forward every third of its TTL until
// it is released or lost.
func (s *Storage) keepAlive(ctx context.Context, h *heldLock) {
	defer close(h.done)
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.renew(ctx, h, s.ttl); errors.Is(err, ErrLockLost) {
				return
			}
		}
	}
}

// renew rewrites the lock object with a new expiry, if it is still ours.
func (s *Storage) renew(ctx context.Context, h *heldLock, lease time.Duration) error {
	s.mu.Lock()
	etag := h.etag
	s.mu.Unlock()
	tag, err := s.store.Put(ctx, h.key, s.body(h.token, lease), objstore.Condition{IfMatch: etag})
	if errors.Is(err, objstore.ErrPrecondition) {
		return fmt.Errorf("renewing %s: %w", h.key, ErrLockLost)
	}
	if err != nil {
		return fmt.Errorf("renewing %s: %w", h.key, err)
	}
	s.mu.Lock()
	h.etag = tag
	s.mu.Unlock()
	return nil
}

// RenewLockLease implements certmagic.LockLeaseRenewer.
func (s *Storage) RenewLockLease(ctx context.Context, name string, lease time.Duration) error {
	s.mu.Lock()
	h := s.held[name]
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("renewing lock %s: %w", name, ErrNotLocked)
	}
	return s.renew(ctx, h, lease)
}

// Unlock implements certmagic.Locker: it stops the keep-alive and deletes
// the lock object if it still holds this Storage's token. Between that
// check and the delete an expired lock could change hands; the keep-alive
// makes expiry, and so that window, unlikely.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("unlocking %s: %w", name, ErrNotLocked)
	}
	h.cancel()
	<-h.done
	data, _, err := s.store.Get(ctx, h.key)
	if errors.Is(err, objstore.ErrNotFound) {
		return fmt.Errorf("unlocking %s: %w", name, ErrLockLost)
	}
	if err != nil {
		return fmt.Errorf("unlocking %s: %w", name, err)
	}
	var cur lockBody
	if json.Unmarshal(data, &cur) != nil || cur.Token != h.token {
		return fmt.Errorf("unlocking %s: %w", name, ErrLockLost)
	}
	if err := s.store.Delete(ctx, h.key); err != nil {
		return fmt.Errorf("unlocking %s: %w", name, err)
	}
	return nil
}

// Close stops every keep-alive; locks still held then expire on their own.
func (s *Storage) Close() {
	s.mu.Lock()
	for _, h := range s.held {
		h.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Storage) body(token string, lease time.Duration) []byte {
	b, _ := json.Marshal(lockBody{Owner: s.owner, Token: token, Expires: s.now().Add(lease).UTC()})
	return b
}
