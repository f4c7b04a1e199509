package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/internal/wave"
)

// latestCache holds the pointer read from latest.json for ttl, so that
// status messages (heartbeats) are checked against it without a read
// each. A failed read is not kept.
type latestCache struct {
	ttl  time.Duration
	mu   sync.Mutex
	at   time.Time
	ptr  snapshot.Pointer
	have bool
}

// get returns the pointer, read again when the one held is older than ttl
// at now.
func (c *latestCache) get(ctx context.Context, objects objstore.Store, now time.Time) (snapshot.Pointer, error) {
	c.mu.Lock()
	if c.have && now.Sub(c.at) < c.ttl {
		p := c.ptr
		c.mu.Unlock()
		return p, nil
	}
	c.mu.Unlock()
	p, _, err := ReadLatest(ctx, objects)
	if err != nil {
		return p, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.have || now.After(c.at) {
		c.ptr, c.at, c.have = p, now, true
	}
	return p, nil
}

// releasedCache holds released.json (package wave) for ttl, as
// latestCache holds latest.json, for status messages.
type releasedCache struct {
	ttl    time.Duration
	mu     sync.Mutex
	at     time.Time
	r      wave.Released
	staged bool
	have   bool
}

// get returns released.json and whether a rollout policy is in force,
// read again when what is held is older than ttl at now.
func (c *releasedCache) get(ctx context.Context, objects objstore.Store, now time.Time) (wave.Released, bool, error) {
	c.mu.Lock()
	if c.have && now.Sub(c.at) < c.ttl {
		r, staged := c.r, c.staged
		c.mu.Unlock()
		return r, staged, nil
	}
	c.mu.Unlock()
	r, staged, err := ReadReleased(ctx, objects)
	if err != nil {
		return r, staged, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.have || now.After(c.at) {
		c.r, c.staged, c.at, c.have = r, staged, now, true
	}
	return r, staged, nil
}
