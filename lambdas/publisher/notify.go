package publisher

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

// Throttle is how the fan-out backs off when API Gateway throttles the
// @connections API: the throttled notice is posted again after a jittered
// exponential pause (Base doubling to Cap), at most Attempts times in all,
// and every other post of the pass waits out the same pause, so the pass
// slows down as a whole instead of losing notices.
type Throttle struct {
	Base     time.Duration
	Cap      time.Duration
	Attempts int
}

// DefaultThrottle backs off from 100 ms to 5 s, over at most 8 attempts
// (about 15 s of pauses at worst, well inside the publisher Lambda's
// timeout).
var DefaultThrottle = Throttle{Base: 100 * time.Millisecond, Cap: 5 * time.Second, Attempts: 8}

// Notify posts ptr's config notice to every connection whose data plane
// is behind it (cluster.Behind), at most Concurrency at a time; under a
// rollout policy, each data plane's wave's pointer in released.json
// instead. A connection that is gone loses its row in the same pass; a throttled
// post is retried after a pause every post of the pass observes
// (Throttle); other post failures are logged, since data planes also
// catch up on their next hello or poll. Only a failure to list the
// registry is returned.
func (p *Publisher) Notify(ctx context.Context, ptr snapshot.Pointer) error {
	if p.opts.Notifier == nil || p.opts.Connections == nil {
		return nil
	}
	conns, err := p.opts.Connections.ListConnections(ctx)
	if err != nil {
		return fmt.Errorf("listing connections: %w", err)
	}
	if len(conns) == 0 {
		return nil
	}
	nodes, err := p.opts.Connections.ListNodes(ctx)
	if err != nil {
		return fmt.Errorf("listing data planes: %w", err)
	}
	byID := make(map[string]cluster.Node, len(nodes))
	for _, n := range nodes {
		byID[n.NodeID] = n
	}
	released, staged, err := cluster.ReadReleased(ctx, p.opts.Objects)
	if err != nil {
		return err
	}
	payloads := map[pointerKey][]byte{}
	pass := &fanout{p: p}
	sem := make(chan struct{}, p.opts.Concurrency)
	var wg sync.WaitGroup
	for _, c := range conns {
		node := byID[c.NodeID]
		ptr := cluster.Released(released, staged, ptr, node.Labels)
		if !cluster.Behind(node, ptr) {
			continue
		}
		payload, ok := payloads[keyOf(ptr)]
		if !ok {
			if payload, err = cluster.Notice(ctx, ptr, p.opts.Presigner); err != nil {
				wg.Wait()
				return err
			}
			payloads[keyOf(ptr)] = payload
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return fmt.Errorf("notifying data planes: %w", ctx.Err())
		}
		wg.Go(func() {
			defer func() { <-sem }()
			pass.post(ctx, c.ID, ptr.Revision, payload)
		})
	}
	wg.Wait()
	return nil
}

// fanout is one Notify pass: the pause a throttled post imposes on every
// post of the pass.
type fanout struct {
	p     *Publisher
	mu    sync.Mutex
	until time.Time
}

// post delivers a notice of revision rev to one connection, retrying
// while throttled.
func (f *fanout) post(ctx context.Context, connID string, rev int64, payload []byte) {
	log := f.p.opts.Logger.With("connection_id", connID, "revision", rev)
	t := f.p.opts.Throttle
	for attempt := 1; ; attempt++ {
		if !f.wait(ctx) {
			return
		}
		err := f.p.opts.Notifier.Post(ctx, connID, payload)
		switch {
		case err == nil:
			return
		case errors.Is(err, cluster.ErrGone):
			if err := f.p.opts.Connections.DeleteConnection(ctx, connID); err != nil {
				log.WarnContext(ctx, "deleting gone connection", "error", err)
			}
			return
		case errors.Is(err, cluster.ErrThrottled) && attempt < t.Attempts:
			f.pause(t.delay(attempt))
		default:
			log.WarnContext(ctx, "posting config notice", "error", err, "attempts", attempt)
			return
		}
	}
}

// pause makes every post of the pass wait at least d from now.
func (f *fanout) pause(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.p.opts.Clock().Add(d); u.After(f.until) {
		f.until = u
	}
}

// wait sleeps until the pass's pause is over; false when ctx ends first.
func (f *fanout) wait(ctx context.Context) bool {
	for {
		f.mu.Lock()
		d := f.until.Sub(f.p.opts.Clock())
		f.mu.Unlock()
		if d <= 0 {
			return true
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
	}
}

// delay draws the pause after the attempt-th throttled post (from 1):
// uniform in [ceiling/2, ceiling], the ceiling doubling from Base to Cap.
func (t Throttle) delay(attempt int) time.Duration {
	c := t.Base
	for i := 1; i < attempt && c < t.Cap; i++ {
		c *= 2
	}
	c = min(c, t.Cap)
	if c <= 0 {
		return 0
	}
	return c/2 + rand.N(c/2+1)
}

// pointerKey identifies a pointer's notice: its revision and the objects
// it names (a pointer with a chain is not comparable itself).
type pointerKey struct {
	id        snapshot.Identity
	rev, full int64
	key, sum  string
	delta     snapshot.DeltaRef
	chain     int
}

func keyOf(p snapshot.Pointer) pointerKey {
	return pointerKey{id: p.Identity(), rev: p.Revision, full: p.Full, key: p.Key, sum: p.SHA256, delta: p.Delta, chain: len(p.Chain)}
}
