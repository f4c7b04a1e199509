// Package publisher turns the configuration store's newest revision into a
// published snapshot: it seals the configuration, writes it create-only
// to object storage, moves latest.json forward with compare-and-swap, and
// tells connected data planes.
//
// It reads only what changed: the store's change log (store.ChangedSince)
// since the revision latest.json names, applied to that revision's
// configuration, which it holds from its last publication (or reads back
// from that snapshot once per warm process). It exports the whole
// configuration only without such a base, or when the log cannot tell
// (a replacement, expired entries: store.ErrLogGap).
//
// Beside each snapshot but an epoch's first, it writes the delta from the
// revision latest.json named (internal/delta): what the change log named,
// or the diff against the base after an export; and offers it in the
// config notice; data planes running its base apply it instead of the
// full snapshot.
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
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/history"
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

// hashRecorder is a Source that keeps the configuration hash of a
// revision with it (store.Store does), so that GET /status need not
// export the configuration to report it.
type hashRecorder interface {
	RecordConfigHash(ctx context.Context, rev int64, hash string) error
}

// recordHash records the hash of the configuration just published at rev,
// when the source keeps hashes. A failure costs only a later export by
// GET /status: it is logged, not returned.
func (p *Publisher) recordHash(ctx context.Context, rev int64, hash string) {
	rec, ok := p.opts.Source.(hashRecorder)
	if !ok {
		return
	}
	if err := rec.RecordConfigHash(ctx, rev, hash); err != nil {
		p.opts.Logger.WarnContext(ctx, "recording the configuration hash", "revision", rev, "error", err)
	}
}

// Stepper moves staged rollouts forward; it reports whether the
// pointers data planes may run changed.
type Stepper interface {
	Step(ctx context.Context) (bool, error)
}

// Validator compiles a configuration as a data plane would.
type Validator interface {
	Check(ctx context.Context, cfg *model.Config) error
}

// ChangeValidator is a Validator that can check a configuration from the
// change since one it accepted (preflight.Checker.CheckChange): its
// answer is Check(next)'s, at a cost that follows the change rather than
// the configuration.
type ChangeValidator interface {
	Validator
	CheckChange(ctx context.Context, base, next, upserts *model.Config, deletes map[model.Kind][]string) error
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

// DefaultMinInterval paces publications to at most five a second.
const DefaultMinInterval = 200 * time.Millisecond

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
	// History, when set, receives a record of every revision published
	// and is pruned to its retention.
	History *history.Log
	// Validator, when set, compiles every revision as a data plane would
	// before it is signed (package preflight); a revision it refuses is
	// not published, is recorded as refused in the History, logged at
	// ERROR ("revision refused") and passed to OnRefused. A
	// ChangeValidator checks a revision read from the change log against
	// the base it accepted itself; a revision sealed whole, or without
	// such a base, is compiled whole (see check).
	Validator Validator
	OnRefused func(rev int64, err error)
	// Rollout, when set, stages each published revision through the
	// rollout policy's waves (package rollout): it runs after every
	// publication, before data planes are told, and on Reconcile.
	Rollout Stepper
	// PruneHistory deletes records and snapshots past the history's
	// retention after each publication; without it they are only
	// reported as expired (in AWS, the bucket's lifecycle rules expire
	// them by age, and the publisher's role cannot delete).
	PruneHistory bool
	// Concurrency bounds concurrent posts; DefaultConcurrency when 0.
	Concurrency int
	// Throttle paces posts API Gateway throttles; DefaultThrottle when
	// zero.
	Throttle Throttle
	// NoDeltas turns deltas off: every revision is announced by its
	// full snapshot only.
	NoDeltas bool
	// FullEvery, FullRatio and FullMaxAge schedule full snapshots (see
	// DefaultFullEvery); between them a revision is published as a
	// delta chained after the last full snapshot. Zero values take the
	// defaults; FullEvery is at most snapshot.MaxChain+1, and 1 seals
	// every revision whole.
	FullEvery  int
	FullRatio  float64
	FullMaxAge time.Duration
	// MinInterval is the least time between the starts of two
	// publications: under a write storm they come at most 1/MinInterval
	// a second, each carrying everything committed before it read. Zero:
	// no pause (DefaultMinInterval is what the commands use).
	MinInterval time.Duration
	// Logger defaults to slog.Default(); Clock to time.Now.
	Logger *slog.Logger
	Clock  func() time.Time
}

// Publisher publishes snapshots. It is safe for concurrent use.
type Publisher struct {
	opts Options

	mu   sync.Mutex
	last published // the configuration of the revision written last
	// segments are the last full snapshot's, sealed by this process:
	// the next one copies those whose entities it still holds.
	segments *snapshot.Segments

	paceMu  sync.Mutex
	started time.Time // when the last publication started (monotonic)
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
	if opts.FullEvery <= 0 {
		opts.FullEvery = DefaultFullEvery
	}
	opts.FullEvery = min(opts.FullEvery, snapshot.MaxChain+1)
	if opts.FullRatio <= 0 {
		opts.FullRatio = DefaultFullRatio
	}
	if opts.FullMaxAge <= 0 {
		opts.FullMaxAge = DefaultFullMaxAge
	}
	return &Publisher{opts: opts}
}

// Publish publishes the store's current revision unless latest.json
// already points at it or beyond (in the same epoch), then notifies the
// data planes that are behind the pointer. It returns the pointer
// latest.json holds at the end.
func (p *Publisher) Publish(ctx context.Context) (snapshot.Pointer, error) {
	ptr, _, err := p.publishNewest(ctx)
	return ptr, err
}

// publishNewest is Publish that also returns the newest revision it
// handled: the published one, or a newer one it refused.
func (p *Publisher) publishNewest(ctx context.Context) (ptr snapshot.Pointer, newest int64, err error) {
	if err := p.pace(ctx); err != nil {
		return snapshot.Pointer{}, 0, err
	}
	var refused int64
	// The pointer is read first: a store read after it is never behind it
	// unless it went back (the restore rule below).
	cur, etag, err := p.latest(ctx)
	if err != nil {
		return snapshot.Pointer{}, 0, err
	}
	sid, err := p.opts.Source.Identity(ctx)
	if err != nil {
		return snapshot.Pointer{}, 0, fmt.Errorf("reading the cluster identity: %w", err)
	}
	rev, err := p.opts.Source.Revision(ctx)
	if err != nil {
		return snapshot.Pointer{}, 0, fmt.Errorf("reading revision: %w", err)
	}
	id := sid.Identity
	if why := restored(sid, rev, cur); why != "" {
		if id, err = p.newEpoch(ctx, sid.Identity, cur, why); err != nil {
			return snapshot.Pointer{}, 0, err
		}
	}
	var due *scheduledFull
	if rev > 0 && supersedes(cur, id, rev) {
		p.replacing(ctx, cur, id)
		if cur, refused, due, err = p.publish(ctx, id, cur, etag); err != nil {
			return snapshot.Pointer{}, 0, err
		}
	}
	if due != nil {
		// The revision is served as its delta first: the data planes are
		// told (below) before the scheduled full snapshot is sealed.
		defer func() { ptr = p.sealScheduled(ctx, *due, ptr) }()
	}
	switch {
	case cur.Revision == 0:
		return cur, max(cur.Revision, refused), nil
	case cur.Identity() != id:
		// Nothing of this store's is published yet (it is empty) or a
		// newer epoch is: the pointer is not this control plane's to
		// announce.
		p.opts.Logger.WarnContext(ctx, "latest.json names another cluster or epoch; not announced",
			"latest", cur.Identity().String(), "store", id.String(), "revision", rev)
		return cur, max(cur.Revision, refused), nil
	}
	p.step(ctx)
	if err := p.Notify(ctx, cur); err != nil {
		return cur, max(cur.Revision, refused), err
	}
	return cur, max(cur.Revision, refused), nil
}

// pace waits until MinInterval has passed since the last publication
// started; the commits made meanwhile are read by the one that follows.
// Publications are paced one after the other, never queued beside each
// other.
func (p *Publisher) pace(ctx context.Context) error {
	p.paceMu.Lock()
	defer p.paceMu.Unlock()
	if wait := time.Until(p.started.Add(p.opts.MinInterval)); p.opts.MinInterval > 0 && wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	p.started = time.Now()
	return nil
}

// step runs the rollout controller; a failure is logged, and the next
// step (a publication or Reconcile) tries again.
func (p *Publisher) step(ctx context.Context) bool {
	if p.opts.Rollout == nil {
		return false
	}
	changed, err := p.opts.Rollout.Step(ctx)
	if err != nil && ctx.Err() == nil {
		p.opts.Logger.ErrorContext(ctx, "stepping the rollout", "error", err)
	}
	return changed
}

// Reconcile moves the staged rollout forward (bake timers, halt
// conditions, promotions and halts asked through the Admin API) and tells
// the data planes whose wave was released a revision. It is run on a
// timer: every second by skyport local, every minute in AWS.
func (p *Publisher) Reconcile(ctx context.Context) error {
	p.compact(ctx)
	if !p.step(ctx) {
		return nil
	}
	cur, _, err := p.latest(ctx)
	if err != nil || cur.Revision == 0 {
		return err
	}
	return p.Notify(ctx, cur)
}

// scheduledFull is a full snapshot the schedule calls for, of a revision
// published first as its delta (ptr, the pointer that publication wrote):
// sealScheduled seals it once the data planes are told.
type scheduledFull struct {
	ptr snapshot.Pointer
	// whole: the Validator compiled the whole configuration (or there is
	// none); otherwise it is compiled whole before the seal.
	whole bool
	cfg   *model.Config
}

// publish writes the newest revision's snapshot as identity id (read by
// read: from the change log when it can, else exported) and moves
// latest.json to it. A revision the schedule seals whole but that has a
// delta chained after latest.json's (and room in the chain) is published
// as that delta, and returned as due: the caller seals its full snapshot
// after the data planes are told (sealScheduled), so that the one write
// in FullEvery is not served a full seal later than the others.
func (p *Publisher) publish(ctx context.Context, id snapshot.Identity, cur snapshot.Pointer, etag string) (_ snapshot.Pointer, refused int64, due *scheduledFull, _ error) {
	r, err := p.read(ctx, id, cur)
	if err != nil {
		return snapshot.Pointer{}, 0, nil, err
	}
	rev, cfg := r.rev, r.cfg
	if !supersedes(cur, id, rev) {
		return cur, 0, nil, nil
	}
	hash := r.digest.Hash()
	whole, err := p.check(ctx, r)
	if err != nil {
		return cur, rev, nil, p.refuse(ctx, id, r, hash, cur, err)
	}
	d, chained := p.writeDelta(ctx, cur, id, r, hash)
	full := !chained || p.fullDue(cur, d)
	// later: the full snapshot is sealed after the revision is served as
	// its delta, which the chain can hold one more of.
	// FullEvery 1 asks for every revision whole, at once.
	later := full && chained && p.opts.FullEvery > 1 && len(cur.Chain) < snapshot.MaxChain
	if full && !later && !whole {
		// A full snapshot is compiled whole, as every data plane
		// starting from it compiles it.
		if err := p.opts.Validator.Check(ctx, cfg); err != nil {
			p.opts.Logger.ErrorContext(ctx, "the whole configuration is refused where its change was accepted",
				"revision", rev, "base", cur.Revision, "error", err)
			return cur, rev, nil, p.refuse(ctx, id, r, hash, cur, err)
		}
	}
	var ptr snapshot.Pointer
	if full && !later {
		var err error
		if ptr, err = p.write(ctx, &snapshot.Document{ClusterID: id.ClusterID, Epoch: id.Epoch, Revision: rev, Config: *cfg}); err != nil {
			return snapshot.Pointer{}, 0, nil, err
		}
		if chained {
			ptr.Delta = d.Ref()
			ptr.Delta.Revision = 0 // the pointer's
		}
	} else {
		ptr = chain(cur, d, p.opts.Clock())
	}
	at, err := time.Parse(time.RFC3339, ptr.PublishedAt)
	if err != nil {
		at = p.opts.Clock()
	}
	r.ptr = ptr
	if err := p.record(ctx, id, r, hash, cur, at, history.StatePublished, ""); err != nil {
		return snapshot.Pointer{}, 0, nil, err
	}
	final, err := p.advance(ctx, ptr, cur, etag)
	if err != nil {
		return snapshot.Pointer{}, 0, nil, err
	}
	if r.change == nil {
		// An exported configuration is held packed (model.Config.Pack),
		// as one read back from its snapshot is: the next deltas apply
		// to it alike, and it takes about a third less memory. Packed
		// once the revision is sealed and checked, so that the copy does
		// not stack on their allocations; a configuration patched from
		// the change log shares its base's packed entities.
		cfg.Pack()
	}
	p.remember(id, rev, cfg, r.digest, p.opts.Validator != nil)
	p.recordHash(ctx, rev, hash)
	if !final.Equal(ptr) {
		return final, 0, nil, nil
	}
	if full && !later {
		p.opts.Logger.InfoContext(ctx, "published snapshot", "revision", ptr.Revision, "key", ptr.Key, "size", ptr.Size,
			"cluster_id", ptr.ClusterID, "epoch", ptr.Epoch, "from_changes", r.change != nil)
	} else {
		p.opts.Logger.InfoContext(ctx, "published revision as a delta", "revision", ptr.Revision, "full", ptr.Full,
			"chain", len(ptr.Chain), "cluster_id", ptr.ClusterID, "epoch", ptr.Epoch, "full_due", later)
	}
	if later {
		return final, 0, &scheduledFull{ptr: final, whole: whole, cfg: cfg}, nil
	}
	p.prune(ctx, final)
	return final, 0, nil, nil
}

// sealScheduled seals the full snapshot due for the revision published
// as due.ptr and moves latest.json from that pointer to it (compactTo:
// create-only, then If-Match on the pointer read, which must still be
// due.ptr), then prunes the history. It returns the pointer latest.json
// holds after, which is cur when the seal is not made. Until it is, the
// chain latest.json names is as valid as any other; a failure (or a
// crash) leaves it so, logged, and the next publication, finding the
// full snapshot still due, seals its own.
func (p *Publisher) sealScheduled(ctx context.Context, due scheduledFull, cur snapshot.Pointer) snapshot.Pointer {
	if !cur.Equal(due.ptr) {
		return cur
	}
	if !due.whole {
		// A full snapshot is compiled whole, as every data plane
		// starting from it compiles it; one refused stays a chain.
		if err := p.opts.Validator.Check(ctx, due.cfg); err != nil {
			p.opts.Logger.ErrorContext(ctx, "the whole configuration is refused where its change was accepted; the revision stays chained",
				"revision", cur.Revision, "full", cur.Full, "error", err)
			return cur
		}
	}
	latest, etag, err := p.latest(ctx)
	if err == nil && latest.Equal(due.ptr) {
		var sealed snapshot.Pointer
		if sealed, err = p.compactTo(ctx, latest, etag); err == nil && sealed.Revision > 0 {
			latest = sealed
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			p.opts.Logger.WarnContext(ctx, "sealing the scheduled full snapshot; the revision stays chained",
				"revision", cur.Revision, "full", cur.Full, "error", err)
		}
		return cur
	}
	p.prune(ctx, latest)
	return latest
}

// check runs the Validator on r (none: accepted) and reports whether it
// compiled the whole configuration. A revision read from the change log
// whose base this process's Validator accepted is checked from its change
// when the Validator is a ChangeValidator; otherwise (an export, a base
// read back from object storage, which another process or version
// checked) it is compiled whole.
func (p *Publisher) check(ctx context.Context, r revision) (bool, error) {
	v := p.opts.Validator
	if v == nil {
		return true, nil
	}
	if cv, ok := v.(ChangeValidator); ok && r.change != nil && r.base != nil && r.baseChecked {
		return false, cv.CheckChange(ctx, r.base, r.cfg, &r.change.Upserts, r.change.Deletes)
	}
	return true, v.Check(ctx, r.cfg)
}
