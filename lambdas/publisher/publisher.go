// Package publisher turns the configuration store's newest revision into a
// published snapshot: it seals the consistent export, writes it create-only
// to object storage, moves latest.json forward with compare-and-swap, and
// tells connected data planes.
//
// Beside each snapshot but an epoch's first, it writes the delta from the
// revision latest.json named (internal/delta), diffed against the index
// of the revision it published last (or of that snapshot, read back), and
// offers it in the config notice; data planes running its base apply it
// instead of the full snapshot.
//
// Publishing is idempotent: duplicate or out-of-order triggers, and two
// publishers racing, leave one snapshot per revision and a pointer that
// never moves backwards. Nothing is written when the export fails.
//
// Every snapshot carries the store's cluster identity (snapshot.Identity).
// The pointer moves forward within an epoch, to any revision of a newer
// epoch of the cluster, and over a pointer of another cluster (logged);
// never to an older epoch. A store behind what its own epoch published —
// restored from a backup, its revision lower than latest.json's or its
// epoch older, or a table the store reports Restored — gets a new epoch,
// one past both the store's and the pointer's, before it is published.
package publisher

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Source is the configuration store as the publisher reads it.
type Source interface {
	// Export returns every entity at one revision, never a partial set.
	Export(ctx context.Context) (*model.Config, int64, error)
	// Revision returns the current revision.
	Revision(ctx context.Context) (int64, error)
	// Identity returns the store's cluster identity (store.Store).
	Identity(ctx context.Context) (store.Identity, error)
	// NewEpoch starts epoch to of the store's cluster (store.Store).
	NewEpoch(ctx context.Context, from snapshot.Identity, to int64) (snapshot.Identity, error)
}

// Connections is the cluster registry as the publisher uses it.
type Connections interface {
	ListConnections(ctx context.Context) ([]cluster.Connection, error)
	ListNodes(ctx context.Context) ([]cluster.Node, error)
	DeleteConnection(ctx context.Context, id string) error
}

// DefaultConcurrency is how many notices are posted at once: API
// Gateway's @connections API answers in milliseconds, so a fleet of
// thousands is told within a second or two by one publisher.
const DefaultConcurrency = 64

// maxCASAttempts bounds the compare-and-swap loop on latest.json.
const maxCASAttempts = 8

// Options configures a Publisher.
type Options struct {
	// Source is the configuration store. Required.
	Source Source
	// Objects is where snapshots and latest.json are written. Required.
	Objects objstore.Store
	// Key signs snapshots. Required.
	Key ed25519.PrivateKey
	// Notifier and Connections tell data planes; without them the
	// publisher only publishes.
	Notifier    cluster.Notifier
	Connections Connections
	// Presigner, when set, puts a presigned URL in config notices.
	Presigner objstore.Presigner
	// Concurrency bounds concurrent posts; DefaultConcurrency when 0.
	Concurrency int
	// Throttle paces posts API Gateway throttles; DefaultThrottle when
	// zero.
	Throttle Throttle
	// NoDeltas turns deltas off: every revision is announced by its
	// full snapshot only.
	NoDeltas bool
	// Logger defaults to slog.Default(); Clock to time.Now.
	Logger *slog.Logger
	Clock  func() time.Time
}

// Publisher publishes snapshots. It is safe for concurrent use.
type Publisher struct {
	opts Options

	mu   sync.Mutex
	last published // the index of the revision written last
}

// New returns a Publisher; it fills the options' defaults.
func New(opts Options) *Publisher {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Throttle == (Throttle{}) {
		opts.Throttle = DefaultThrottle
	}
	return &Publisher{opts: opts}
}

// Publish publishes the store's current revision unless latest.json
// already points at it or beyond (in the same epoch), then notifies the
// data planes that are behind the pointer. It returns the pointer
// latest.json holds at the end.
func (p *Publisher) Publish(ctx context.Context) (snapshot.Pointer, error) {
	// The pointer is read first: a store read after it is never behind it
	// unless it went back (the restore rule below).
	cur, etag, err := p.latest(ctx)
	if err != nil {
		return snapshot.Pointer{}, err
	}
	sid, err := p.opts.Source.Identity(ctx)
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("reading the cluster identity: %w", err)
	}
	rev, err := p.opts.Source.Revision(ctx)
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("reading revision: %w", err)
	}
	id := sid.Identity
	if why := restored(sid, rev, cur); why != "" {
		if id, err = p.newEpoch(ctx, sid.Identity, cur, why); err != nil {
			return snapshot.Pointer{}, err
		}
	}
	if rev > 0 && supersedes(cur, id, rev) {
		p.replacing(ctx, cur, id)
		if cur, err = p.publish(ctx, id, cur, etag); err != nil {
			return snapshot.Pointer{}, err
		}
	}
	switch {
	case cur.Revision == 0:
		return cur, nil
	case cur.Identity() != id:
		// Nothing of this store's is published yet (it is empty) or a
		// newer epoch is: the pointer is not this control plane's to
		// announce.
		p.opts.Logger.WarnContext(ctx, "latest.json names another cluster or epoch; not announced",
			"latest", cur.Identity().String(), "store", id.String(), "revision", rev)
		return cur, nil
	}
	if err := p.Notify(ctx, cur); err != nil {
		return cur, err
	}
	return cur, nil
}

// publish writes the export's snapshot as identity id and moves
// latest.json to it.
func (p *Publisher) publish(ctx context.Context, id snapshot.Identity, cur snapshot.Pointer, etag string) (snapshot.Pointer, error) {
	cfg, rev, err := p.opts.Source.Export(ctx)
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("exporting configuration: %w", err)
	}
	if cfg == nil {
		return snapshot.Pointer{}, errors.New("exporting configuration: no configuration returned")
	}
	if !supersedes(cur, id, rev) {
		return cur, nil
	}
	ptr, err := p.write(ctx, &snapshot.Document{ClusterID: id.ClusterID, Epoch: id.Epoch, Revision: rev, Config: *cfg})
	if err != nil {
		return snapshot.Pointer{}, err
	}
	ptr.Delta = p.writeDelta(ctx, cur, id, rev, cfg)
	final, err := p.advance(ctx, ptr, cur, etag)
	if err != nil {
		return snapshot.Pointer{}, err
	}
	if final == ptr {
		p.opts.Logger.InfoContext(ctx, "published snapshot", "revision", ptr.Revision, "key", ptr.Key, "size", ptr.Size,
			"cluster_id", ptr.ClusterID, "epoch", ptr.Epoch)
	}
	return final, nil
}
