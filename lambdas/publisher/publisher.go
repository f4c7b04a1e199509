// Package publisher turns the configuration store's newest revision into a
// published snapshot: it seals the consistent export, writes it create-only
// to object storage, moves latest.json forward with compare-and-swap, and
// tells connected data planes.
//
// Publishing is idempotent: duplicate or out-of-order triggers, and two
// publishers racing, leave one snapshot per revision and a pointer that
// never moves backwards. Nothing is written when the export fails.
package publisher

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

// Source is the configuration store as the publisher reads it.
type Source interface {
	// Export returns every entity at one revision, never a partial set.
	Export(ctx context.Context) (*model.Config, int64, error)
	// Revision returns the current revision.
	Revision(ctx context.Context) (int64, error)
}

// Connections is the cluster registry as the publisher uses it.
type Connections interface {
	ListConnections(ctx context.Context) ([]cluster.Connection, error)
	ListNodes(ctx context.Context) ([]cluster.Node, error)
	DeleteConnection(ctx context.Context, id string) error
}

// DefaultConcurrency is how many notices are posted at once.
const DefaultConcurrency = 16

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
	// Logger defaults to slog.Default(); Clock to time.Now.
	Logger *slog.Logger
	Clock  func() time.Time
}

// Publisher publishes snapshots. It is safe for concurrent use.
type Publisher struct {
	opts Options
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
	return &Publisher{opts: opts}
}

// Publish publishes the store's current revision unless latest.json
// already points at it or beyond, then notifies the data planes that are
// behind the pointer. It returns the pointer latest.json holds at the end.
func (p *Publisher) Publish(ctx context.Context) (snapshot.Pointer, error) {
	cur, etag, err := p.latest(ctx)
	if err != nil {
		return snapshot.Pointer{}, err
	}
	rev, err := p.opts.Source.Revision(ctx)
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("reading revision: %w", err)
	}
	if rev > cur.Revision {
		cur, err = p.publish(ctx, cur, etag)
		if err != nil {
			return snapshot.Pointer{}, err
		}
	}
	if cur.Revision == 0 {
		return cur, nil
	}
	if err := p.Notify(ctx, cur); err != nil {
		return cur, err
	}
	return cur, nil
}

// publish writes the export's snapshot and moves latest.json to it.
func (p *Publisher) publish(ctx context.Context, cur snapshot.Pointer, etag string) (snapshot.Pointer, error) {
	cfg, rev, err := p.opts.Source.Export(ctx)
	if err != nil {
		return snapshot.Pointer{}, fmt.Errorf("exporting configuration: %w", err)
	}
	if cfg == nil {
		return snapshot.Pointer{}, errors.New("exporting configuration: no configuration returned")
	}
	if rev <= cur.Revision {
		return cur, nil
	}
	ptr, err := p.write(ctx, &snapshot.Document{Revision: rev, Config: *cfg})
	if err != nil {
		return snapshot.Pointer{}, err
	}
	final, err := p.advance(ctx, ptr, cur, etag)
	if err != nil {
		return snapshot.Pointer{}, err
	}
	if final.Revision == ptr.Revision {
		p.opts.Logger.InfoContext(ctx, "published snapshot", "revision", ptr.Revision, "key", ptr.Key, "size", ptr.Size)
	}
	return final, nil
}
