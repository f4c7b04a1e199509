package ratelimiting

import (
	"hash/maphash"
	"sync"
	"time"
)

// Store keeps rate-limiting counters for as long as the data plane runs,
// so a snapshot swap that keeps a plugin instance (same id) keeps its
// counts. It is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	byPlugin map[string]*Counters
	now      func() time.Time
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{byPlugin: map[string]*Counters{}, now: time.Now} }

// counters returns the counters of one plugin instance, creating them.
func (s *Store) counters(pluginID string) *Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.byPlugin[pluginID]
	if c == nil {
		c = newCounters()
		s.byPlugin[pluginID] = c
	}
	return c
}

// retain drops the counters of plugin instances not in keep.
func (s *Store) retain(keep map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.byPlugin {
		if !keep[id] {
			delete(s.byPlugin, id)
		}
	}
}

const numShards = 64

// Counters are one plugin instance's fixed-window counts, sharded by
// identifier so concurrent requests for different callers rarely contend.
type Counters struct {
	seed   maphash.Seed
	shards [numShards]shard
}

type shard struct {
	mu        sync.Mutex
	buckets   map[string]*bucket
	sweepSize int
}

// bucket is one identifier's count in each window.
type bucket struct {
	start [numPeriods]int64
	count [numPeriods]int64
}

func newCounters() *Counters {
	c := &Counters{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].buckets = map[string]*bucket{}
		c.shards[i].sweepSize = 1024
	}
	return c
}

// usage is one period's limit and what remains of it before this request.
type usage struct {
	limit, remaining int64
}

// take checks identifier's counts against limits (0 means no limit for
// that period) at now. When every period has room, the request is counted
// in each; otherwise nothing is counted and stop names the period that
// is exhausted.
func (c *Counters) take(identifier string, limits *[numPeriods]int64, now time.Time, out *[numPeriods]usage) (stop period, starts [numPeriods]int64) {
	sh := &c.shards[maphash.String(c.seed, identifier)%numShards]
	for p := range numPeriods {
		if limits[p] > 0 {
			starts[p] = windowStart(p, now)
		}
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := sh.buckets[identifier]
	if b == nil {
		b = &bucket{}
		sh.buckets[identifier] = b
		if len(sh.buckets) >= sh.sweepSize {
			sh.sweep(now.Unix())
		}
	}
	stop = -1
	for p := range numPeriods {
		if limits[p] == 0 {
			continue
		}
		if b.start[p] != starts[p] {
			b.start[p], b.count[p] = starts[p], 0
		}
		rem := limits[p] - b.count[p]
		out[p] = usage{limit: limits[p], remaining: rem}
		if rem <= 0 && stop < 0 {
			stop = p
		}
	}
	if stop < 0 {
		for p := range numPeriods {
			if limits[p] > 0 {
				b.count[p]++
			}
		}
	}
	return stop, starts
}

// sweep drops buckets whose every window has ended; the next sweep
// happens when the shard has doubled again.
func (sh *shard) sweep(now int64) {
	for id, b := range sh.buckets {
		live := false
		for p := range numPeriods {
			if b.count[p] > 0 && windowEnd(p, b.start[p]) > now {
				live = true
				break
			}
		}
		if !live {
			delete(sh.buckets, id)
		}
	}
	sh.sweepSize = max(1024, 2*len(sh.buckets))
}

// NewStoreClock is NewStore with the windows read from now (tests that
// must not depend on the wall clock).
func NewStoreClock(now func() time.Time) *Store {
	s := NewStore()
	s.now = now
	return s
}
