package counters

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const numShards = 64

// Memory is the local policy's store: counters in this process, sharded
// so concurrent callers rarely contend, expired ones swept as shards
// grow. It is safe for concurrent use.
type Memory struct {
	seed   maphash.Seed
	now    func() time.Time
	shards [numShards]shard
}

type shard struct {
	mu        sync.Mutex
	counts    map[string]*count
	sweepSize int
}

type count struct {
	n       int64
	expires int64 // Unix nanoseconds
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store reading time from now (time.Now when
// nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{seed: maphash.MakeSeed(), now: now}
	for i := range m.shards {
		m.shards[i].counts = map[string]*count{}
		m.shards[i].sweepSize = 1024
	}
	return m
}

func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)%numShards]
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, keys []string) ([]int64, error) {
	now := m.now().UnixNano()
	out := make([]int64, len(keys))
	for i, k := range keys {
		sh := m.shard(k)
		sh.mu.Lock()
		if c, ok := sh.counts[k]; ok && c.expires > now {
			out[i] = c.n
		}
		sh.mu.Unlock()
	}
	return out, nil
}

// Add implements Store.
func (m *Memory) Add(_ context.Context, incs []Increment) ([]int64, error) {
	now := m.now().UnixNano()
	out := make([]int64, len(incs))
	for i, inc := range incs {
		sh := m.shard(inc.Key)
		sh.mu.Lock()
		c, ok := sh.counts[inc.Key]
		if !ok || c.expires <= now {
			c = &count{expires: now + int64(inc.TTL)}
			sh.counts[inc.Key] = c
			if len(sh.counts) >= sh.sweepSize {
				sh.sweep(now)
			}
		}
		c.n += inc.N
		out[i] = c.n
		sh.mu.Unlock()
	}
	return out, nil
}

// sweep drops expired counters; the next sweep happens when the shard
// has doubled again.
func (sh *shard) sweep(now int64) {
	for k, c := range sh.counts {
		if c.expires <= now {
			delete(sh.counts, k)
		}
	}
	sh.sweepSize = max(1024, 2*len(sh.counts))
}
