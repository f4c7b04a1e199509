package publisher

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// The full-snapshot schedule. A revision is published as a delta chained
// after the last full snapshot (latest.json names the full and the
// chain: snapshot.Pointer.Full, Chain) unless one of these calls for a
// full snapshot of it:
//
//   - DefaultFullEvery: the chain would hold FullEvery deltas (a full
//     snapshot at least every FullEvery publications);
//   - DefaultFullRatio: the chain's deltas would weigh more than
//     FullRatio of the full snapshot (a reader catching up fetches at
//     most 1+FullRatio times the full snapshot's bytes);
//   - DefaultFullMaxAge: the full snapshot is older than FullMaxAge; a
//     chain is also replaced by a full snapshot of its revision on
//     Reconcile once its full is that old, so the deltas a chain needs
//     are never older than FullMaxAge plus the time between two
//     reconciliations, far below the bucket's expiry of deltas.
//
// A revision with no delta (the first of an epoch, NoDeltas, a delta
// that could not be written) gets a full snapshot.
const (
	DefaultFullEvery  = 16
	DefaultFullRatio  = 0.25
	DefaultFullMaxAge = 6 * time.Hour
	// MaxFullMaxAge bounds FullMaxAge: the bucket keeps a chain's full
	// snapshot and deltas a day longer than the history records that need
	// them (the stack's ChainMarginDays), and a chain is written up to
	// FullMaxAge before its last revision.
	MaxFullMaxAge = 23 * time.Hour
)

// fullDue reports whether the revision d leads to from cur must be
// sealed whole rather than chained after cur's full snapshot.
func (p *Publisher) fullDue(cur snapshot.Pointer, d delta.Pointer) bool {
	if p.opts.NoDeltas || p.opts.FullEvery <= 1 || d.Base != cur.Revision || cur.Identity() != d.Identity() {
		return true
	}
	if len(cur.Chain)+1 >= p.opts.FullEvery || len(cur.Chain)+1 > snapshot.MaxChain {
		return true
	}
	weight := d.Size
	for _, c := range cur.Chain {
		weight += c.Size
	}
	if float64(weight) > p.opts.FullRatio*float64(cur.Size) {
		return true
	}
	return p.fullAge(cur) > p.opts.FullMaxAge
}

// fullAge is how long ago the full snapshot cur names was sealed; zero
// when unknown.
func (p *Publisher) fullAge(cur snapshot.Pointer) time.Duration {
	at := cur.FullAt
	if cur.Full == 0 || at == "" {
		at = cur.PublishedAt
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return 0
	}
	return p.opts.Clock().Sub(t)
}

// chain returns the pointer of d's revision published as a delta after
// cur: cur's full snapshot, cur's chain and d.
func chain(cur snapshot.Pointer, d delta.Pointer, now time.Time) snapshot.Pointer {
	ptr := cur
	if cur.Full == 0 {
		ptr.Full, ptr.FullAt = cur.Revision, cur.PublishedAt
	}
	ptr.Revision = d.Revision
	ptr.PublishedAt = now.UTC().Format(time.RFC3339Nano)
	ptr.Delta = d.Ref()
	ptr.Delta.Revision = 0 // the pointer's
	ptr.Chain = append(slices.Clip(cur.Chain), d.Ref())
	return ptr
}

// compact replaces the chain latest.json names by a full snapshot of its
// revision once the chain's full is older than FullMaxAge: the deltas of
// a revision nobody wrote after for a while are then no longer needed by
// a reader of latest.json, and expire with the bucket's rule. A failure
// is logged; the next reconciliation tries again.
func (p *Publisher) compact(ctx context.Context) {
	cur, etag, err := p.latest(ctx)
	if err != nil || cur.Full == 0 || p.fullAge(cur) <= p.opts.FullMaxAge {
		return
	}
	if _, err := p.compactTo(ctx, cur, etag); err != nil && ctx.Err() == nil {
		p.opts.Logger.WarnContext(ctx, "replacing an old delta chain by a full snapshot", "revision", cur.Revision,
			"full", cur.Full, "error", err)
	}
}

// compactTo seals the full snapshot of the revision cur (latest.json,
// read with etag) chains to and moves latest.json to it, only over cur.
// It returns the pointer written; the zero pointer when none was (the
// store is another cluster's or epoch's, or a publisher moved
// latest.json meanwhile).
func (p *Publisher) compactTo(ctx context.Context, cur snapshot.Pointer, etag string) (snapshot.Pointer, error) {
	sid, err := p.opts.Source.Identity(ctx)
	if err != nil || sid.Identity != cur.Identity() {
		return snapshot.Pointer{}, err // another cluster's or epoch's pointer is not ours to rewrite
	}
	cfg, digest, err := p.baseConfig(ctx, cur)
	if err != nil {
		return snapshot.Pointer{}, err
	}
	id := cur.Identity()
	ptr, err := p.write(ctx, &snapshot.Document{ClusterID: id.ClusterID, Epoch: id.Epoch, Revision: cur.Revision, Config: *cfg})
	if err != nil {
		return snapshot.Pointer{}, err
	}
	ptr.Delta = cur.Delta
	data, err := encodePointer(ptr)
	if err != nil {
		return snapshot.Pointer{}, err
	}
	// Only over the pointer read: a publisher that moved it meanwhile
	// wins, and its chain is younger.
	if _, err := p.opts.Objects.Put(ctx, snapshot.LatestKey, data, objstore.Condition{IfMatch: etag}); err != nil {
		if errors.Is(err, objstore.ErrPrecondition) {
			return snapshot.Pointer{}, nil
		}
		return snapshot.Pointer{}, err
	}
	p.remember(id, cur.Revision, cfg, digest, p.accepted(cfg))
	p.supersede(ctx, cur)
	p.recordFull(ctx, id, cur.Revision)
	p.opts.Logger.InfoContext(ctx, "delta chain replaced by a full snapshot", "revision", cur.Revision, "full", cur.Full,
		"chain", len(cur.Chain), "key", ptr.Key)
	return ptr, nil
}

// ParseSchedule reads the full-snapshot schedule from its environment
// form (SKYPORT_FULL_EVERY, SKYPORT_FULL_RATIO, SKYPORT_FULL_MAX_AGE): a
// count of publications (1 to snapshot.MaxChain+1), a positive fraction
// and a Go duration; an empty value keeps the default.
func ParseSchedule(every, ratio, maxAge string) (n int, r float64, age time.Duration, err error) {
	if every != "" {
		if n, err = strconv.Atoi(every); err != nil || CheckFullEvery(n) != nil {
			return 0, 0, 0, fmt.Errorf("full snapshot every %q publications: %w", every, CheckFullEvery(0))
		}
	}
	if ratio != "" {
		if r, err = strconv.ParseFloat(ratio, 64); err != nil || CheckFullRatio(r) != nil {
			return 0, 0, 0, fmt.Errorf("full snapshot ratio %q: %w", ratio, CheckFullRatio(0))
		}
	}
	if maxAge != "" {
		if age, err = time.ParseDuration(maxAge); err != nil || CheckFullMaxAge(age) != nil {
			return 0, 0, 0, fmt.Errorf("full snapshot max age %q: %w", maxAge, CheckFullMaxAge(0))
		}
	}
	return n, r, age, nil
}

// CheckFullEvery refuses a full-snapshot period outside 1 to
// snapshot.MaxChain+1 publications. ParseSchedule and skyport local's
// --full-every share it, so both name the same range.
func CheckFullEvery(n int) error {
	if n < 1 || n > snapshot.MaxChain+1 {
		return fmt.Errorf("want 1 to %d", snapshot.MaxChain+1)
	}
	return nil
}

// CheckFullRatio refuses a chain-to-full ratio that is not a positive,
// finite number.
func CheckFullRatio(r float64) error {
	if !(r > 0) || math.IsInf(r, 0) {
		return errors.New("want a positive number")
	}
	return nil
}

// CheckFullMaxAge refuses a full snapshot's max age that is not
// positive or exceeds MaxFullMaxAge.
func CheckFullMaxAge(d time.Duration) error {
	if d <= 0 || d > MaxFullMaxAge {
		return fmt.Errorf("want a positive duration up to %s", MaxFullMaxAge)
	}
	return nil
}
