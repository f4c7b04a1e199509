package counters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrUnavailable is what the cluster policy answers on a data plane
// started without a counter table.
var ErrUnavailable = errors.New("no counter table: start the data plane with --counters-table for the cluster policy")

// maxKeys bounds the counters a synced store keeps in memory; past it,
// counters are flushed and forgotten early.
const maxKeys = 100_000

// Cluster hands out the cluster policy's stores over one table: the
// table itself for instances counting on every request (sync_rate -1 or
// 0), and for each positive sync rate a store that counts in memory and
// synchronizes with the table every sync_rate. Close stops the syncs
// after a last one.
type Cluster struct {
	table *DynamoDB
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	synced map[time.Duration]*Synced
}

// NewCluster returns the stores over table; log receives failed syncs.
func NewCluster(table *DynamoDB, log *slog.Logger) *Cluster {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Cluster{table: table, log: log, ctx: ctx, cancel: cancel, synced: map[time.Duration]*Synced{}}
}

// Store returns the store for syncRate; nil c gives a store that always
// fails with ErrUnavailable.
func (c *Cluster) Store(syncRate time.Duration) Store {
	if c == nil {
		return unavailable{}
	}
	if syncRate <= 0 {
		return c.table
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.synced[syncRate]; ok {
		return s
	}
	s := &Synced{table: c.table, counts: map[string]*synced{}}
	c.synced[syncRate] = s
	c.wg.Add(1)
	go c.loop(s, syncRate)
	return s
}

func (c *Cluster) loop(s *Synced, every time.Duration) {
	defer c.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("counter sync stopped", "panic", fmt.Sprint(p))
		}
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.Flush(ctx); err != nil {
				c.log.Error("last counter sync", "error", err)
			}
			cancel()
			return
		case <-t.C:
			if err := s.Flush(c.ctx); err != nil && c.ctx.Err() == nil {
				c.log.Warn("counter sync", "error", err)
			}
		}
	}
}

// Flush synchronizes every synced store now.
func (c *Cluster) Flush(ctx context.Context) error {
	c.mu.Lock()
	stores := make([]*Synced, 0, len(c.synced))
	for _, s := range c.synced {
		stores = append(stores, s)
	}
	c.mu.Unlock()
	var errs []error
	for _, s := range stores {
		errs = append(errs, s.Flush(ctx))
	}
	return errors.Join(errs...)
}

// Close stops the syncs, each after a last one.
func (c *Cluster) Close() {
	c.cancel()
	c.wg.Wait()
}

// Synced counts in memory and synchronizes with the table on Flush: a
// counter's first use reads (or increments) the table at once, later
// ones only this node's memory, and each Flush adds what this node
// counted since the last and takes back the fleet's total. The
// fleet-wide count a node sees is at most one sync interval old. It is
// safe for concurrent use.
type Synced struct {
	table *DynamoDB

	mu     sync.Mutex
	counts map[string]*synced
}

type synced struct {
	shared, delta int64
	ttl           time.Duration
	expires       time.Time
}

var _ Store = (*Synced)(nil)

// Get implements Store.
func (s *Synced) Get(ctx context.Context, keys []string) ([]int64, error) {
	out := make([]int64, len(keys))
	var missing []string
	now := s.table.now()
	s.mu.Lock()
	for i, k := range keys {
		if c, ok := s.counts[k]; ok && now.Before(c.expires) {
			out[i] = c.shared + c.delta
		} else {
			missing = append(missing, k)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	vals, err := s.table.Get(ctx, missing)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]int64, len(missing))
	for i, k := range missing {
		byKey[k] = vals[i]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range keys {
		v, fetched := byKey[k]
		if !fetched {
			continue
		}
		c, ok := s.counts[k]
		if !ok || !now.Before(c.expires) {
			// A read does not know the window's TTL: kept one second,
			// until an increment says more.
			c = &synced{expires: now.Add(time.Second)}
			s.remember(k, c)
		}
		c.shared = v
		out[i] = c.shared + c.delta
	}
	return out, nil
}

// Add implements Store.
func (s *Synced) Add(ctx context.Context, incs []Increment) ([]int64, error) {
	out := make([]int64, len(incs))
	var first []int
	now := s.table.now()
	s.mu.Lock()
	for i, inc := range incs {
		c, ok := s.counts[inc.Key]
		if !ok || !now.Before(c.expires) || c.ttl == 0 {
			first = append(first, i)
			continue
		}
		c.delta += inc.N
		out[i] = c.shared + c.delta
	}
	s.mu.Unlock()
	if len(first) == 0 {
		return out, nil
	}
	firstIncs := make([]Increment, len(first))
	for j, i := range first {
		firstIncs[j] = incs[i]
	}
	vals, err := s.table.Add(ctx, firstIncs)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for j, i := range first {
		inc := incs[i]
		c, ok := s.counts[inc.Key]
		if !ok || !now.Before(c.expires) {
			c = &synced{}
			s.remember(inc.Key, c)
		}
		c.shared, c.ttl, c.expires = vals[j], inc.TTL, now.Add(inc.TTL)
		out[i] = c.shared + c.delta
	}
	return out, nil
}

// remember adds a counter, flushing nothing but dropping expired ones
// (and, past maxKeys, those without pending counts) to stay bounded.
func (s *Synced) remember(k string, c *synced) {
	if len(s.counts) >= maxKeys {
		now := s.table.now()
		for key, old := range s.counts {
			if !now.Before(old.expires) || old.delta == 0 {
				delete(s.counts, key)
			}
		}
	}
	s.counts[k] = c
}

// Flush adds the counts made here since the last flush to the table and
// takes back the fleet's totals; a failed increment is kept for the
// next flush.
func (s *Synced) Flush(ctx context.Context) error {
	now := s.table.now()
	s.mu.Lock()
	var incs []Increment
	var idle []string
	for k, c := range s.counts {
		switch {
		case c.delta != 0:
			incs = append(incs, Increment{Key: k, N: c.delta, TTL: c.ttl})
			c.delta = 0
		case !now.Before(c.expires):
			delete(s.counts, k)
		default:
			idle = append(idle, k)
		}
	}
	s.mu.Unlock()
	var errs []error
	if len(idle) > 0 {
		// Counters this node did not use since the last flush: the
		// fleet's totals, read back.
		vals, err := s.table.Get(ctx, idle)
		if err != nil {
			errs = append(errs, err)
		} else {
			s.mu.Lock()
			for i, k := range idle {
				if c, ok := s.counts[k]; ok {
					c.shared = vals[i]
				}
			}
			s.mu.Unlock()
		}
	}
	for _, inc := range incs {
		vals, err := s.table.Add(ctx, []Increment{inc})
		s.mu.Lock()
		c, ok := s.counts[inc.Key]
		switch {
		case err != nil && ok:
			c.delta += inc.N
		case err == nil && ok:
			c.shared = vals[0]
		}
		s.mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unavailable is the cluster store of a data plane without a table.
type unavailable struct{}

func (unavailable) Get(context.Context, []string) ([]int64, error)    { return nil, ErrUnavailable }
func (unavailable) Add(context.Context, []Increment) ([]int64, error) { return nil, ErrUnavailable }
