// Package counters keeps the fixed-window request counters the
// rate-limiting plugins share, behind one interface with Kong's policies
// as implementations: Memory (local, this data plane only), Redis (redis,
// shared by every node using the same server) and DynamoDB (cluster,
// shared by the fleet through a table).
package counters

import (
	"context"
	"time"
)

// Store holds counters by key.
type Store interface {
	// Get returns the current value of each key, 0 for an absent or
	// expired one.
	Get(ctx context.Context, keys []string) ([]int64, error)
	// Add adds each increment's N under its key and returns the new
	// values; a key it creates expires after the increment's TTL.
	Add(ctx context.Context, incs []Increment) ([]int64, error)
}

// Increment is an amount added to one counter.
type Increment struct {
	Key string
	N   int64
	TTL time.Duration
}
