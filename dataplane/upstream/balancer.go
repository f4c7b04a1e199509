package upstream

import (
	"hash/crc32"
	"math"
	"sort"
	"strconv"
	"sync"
)

// balancer picks one usable target, skipping those in tried when another
// is available. key is the consistent-hashing value ("" when none).
type balancer interface {
	pick(key string, tried []*Target) *Target
}

func triedContains(tried []*Target, t *Target) bool {
	for _, x := range tried {
		if x == t {
			return true
		}
	}
	return false
}

// roundRobin is smooth weighted round-robin (nginx's algorithm): every
// pick adds each target's weight to its current score and takes the
// highest, then subtracts the total.
type roundRobin struct {
	mu      sync.Mutex
	targets []*Target
	current []int
}

func newRoundRobin(targets []*Target) *roundRobin {
	return &roundRobin{targets: targets, current: make([]int, len(targets))}
}

func (b *roundRobin) pick(_ string, tried []*Target) *Target {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.pickLocked(tried); t != nil {
		return t
	}
	return b.pickLocked(nil)
}

func (b *roundRobin) pickLocked(tried []*Target) *Target {
	best, total := -1, 0
	for i, t := range b.targets {
		if !t.usable() || triedContains(tried, t) {
			continue
		}
		b.current[i] += t.Weight
		total += t.Weight
		if best < 0 || b.current[i] > b.current[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b.current[best] -= total
	return b.targets[best]
}

// leastConns picks the target with the fewest requests in flight relative
// to its weight; with byLatency it weighs by the moving average of response
// times as well (Kong's "latency" algorithm).
type leastConns struct {
	targets   []*Target
	byLatency bool
}

func (b *leastConns) pick(_ string, tried []*Target) *Target {
	var best *Target
	bestScore := math.Inf(1)
	for pass := 0; pass < 2 && best == nil; pass++ {
		for _, t := range b.targets {
			if !t.usable() || (pass == 0 && triedContains(tried, t)) {
				continue
			}
			score := float64(t.active.Load()+1) / float64(t.Weight)
			if b.byLatency {
				score *= float64(t.ewma.Load() + 1)
			}
			if score < bestScore {
				best, bestScore = t, score
			}
		}
	}
	return best
}

// ring is consistent hashing: every target owns a share of slots points
// proportional to its weight, placed on a circle by crc32; a key maps to
// the first point at or after its own hash whose target is usable.
type ring struct {
	points []point
	rr     *roundRobin
}

type point struct {
	hash   uint32
	target *Target
}

func newRing(targets []*Target, slots int) *ring {
	total := 0
	for _, t := range targets {
		total += t.Weight
	}
	r := &ring{rr: newRoundRobin(targets)}
	if total == 0 {
		return r
	}
	for _, t := range targets {
		if t.Weight == 0 {
			continue
		}
		n := max(1, slots*t.Weight/total)
		for i := range n {
			h := crc32.ChecksumIEEE([]byte(t.Name + " " + strconv.Itoa(i)))
			r.points = append(r.points, point{hash: h, target: t})
		}
	}
	sort.Slice(r.points, func(i, j int) bool { return r.points[i].hash < r.points[j].hash })
	return r
}

func (r *ring) pick(key string, tried []*Target) *Target {
	if key == "" || len(r.points) == 0 {
		return r.rr.pick("", tried)
	}
	h := crc32.ChecksumIEEE([]byte(key))
	start := sort.Search(len(r.points), func(i int) bool { return r.points[i].hash >= h })
	var fallback *Target
	for i := range r.points {
		t := r.points[(start+i)%len(r.points)].target
		if !t.usable() {
			continue
		}
		if !triedContains(tried, t) {
			return t
		}
		if fallback == nil {
			fallback = t
		}
	}
	return fallback
}
