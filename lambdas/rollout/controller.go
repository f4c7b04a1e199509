package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/internal/wave"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// Errors of the Admin API's operations.
var (
	// ErrNoPolicy: no rollout policy is set.
	ErrNoPolicy = errors.New("no rollout policy")
	// ErrNoRollout: no rollout of the revision exists.
	ErrNoRollout = errors.New("no rollout of this revision")
	// ErrNotInProgress: the rollout is over (completed, halted, superseded).
	ErrNotInProgress = errors.New("the rollout is not in progress")
	// ErrConflict: the state kept changing under a conditional write.
	ErrConflict = errors.New("the rollout state changed concurrently")
)

// Nodes lists the data planes (the cluster registry).
type Nodes interface {
	ListNodes(ctx context.Context) ([]cluster.Node, error)
}

// Restorer commits a configuration as a new revision (the store's
// ReplaceAll): how a halt rolls the waves back.
type Restorer interface {
	ReplaceAll(ctx context.Context, cfg *model.Config, reason string) (int64, error)
}

// Options configures a Controller.
type Options struct {
	// Objects holds latest.json, the policy, the state and released.json.
	Objects objstore.Store
	// History gives revisions' config hashes and configurations.
	History *history.Log
	// Nodes are the data planes whose reports the halt conditions read.
	Nodes Nodes
	// Restorer commits the rollback revision; without it a halt stops the
	// rollout but leaves the waves that took the revision on it.
	Restorer Restorer
	// Default is the policy in force when none was set through the Admin
	// API (the stack's RolloutPolicy, skyport local's --rollout-policy);
	// nil means everything at once.
	Default *Policy
	// OnHalt is called on every halt (a metric).
	OnHalt func(rev int64, reason string)
	Logger *slog.Logger
	Clock  func() time.Time
}

// Controller moves rollouts forward. Its methods are safe for concurrent
// use, also across processes: every write is conditional.
type Controller struct {
	opts Options
}

// New returns a Controller.
func New(opts Options) *Controller {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Controller{opts: opts}
}

// ReportGrace is how many seconds after a wave's bake its promotion waits
// for every data plane's report covering the bake, at most.
const ReportGrace = 30

// maxAttempts bounds retries of conditional writes.
const maxAttempts = 8

// Step reads the policy, latest.json, the state and the data planes'
// reports, moves the rollouts forward, and writes the state and
// released.json. It reports whether released.json changed, so the
// caller tells the data planes.
func (c *Controller) Step(ctx context.Context) (bool, error) {
	pol, err := c.Policy(ctx)
	if errors.Is(err, ErrNoPolicy) {
		return c.dropReleased(ctx)
	}
	if err != nil {
		return false, err
	}
	latest, err := c.opts.History.Latest(ctx)
	if err != nil || latest.Revision == 0 {
		return false, err
	}
	for range maxAttempts {
		st, etag, err := c.state(ctx)
		if err != nil {
			return false, err
		}
		before, _ := json.Marshal(st)
		restore, err := c.advance(ctx, &st, pol, latest)
		if err != nil {
			return false, err
		}
		// A halt found now, not a rollback tried again.
		fresh := restore != nil && !wasHalted(before, restore.Revision)
		after, _ := json.Marshal(st)
		if string(before) != string(after) {
			err = c.putJSON(ctx, StateKey, st, etag)
			if errors.Is(err, objstore.ErrPrecondition) {
				continue
			}
			if err != nil {
				return false, err
			}
		}
		if fresh {
			c.opts.Logger.ErrorContext(ctx, "rollout halted", "revision", restore.Revision, "reason", restore.HaltReason,
				"rollback_to", restore.RollbackTo)
			if c.opts.OnHalt != nil {
				c.opts.OnHalt(restore.Revision, restore.HaltReason)
			}
		}
		if restore != nil {
			c.restore(ctx, restore)
		}
		return c.release(ctx, st)
	}
	return false, ErrConflict
}

// advance applies one step to st: a new policy or revision, then the
// current rollout's halt conditions and promotions. It returns the
// rollout a halt must roll back, nil otherwise.
func (c *Controller) advance(ctx context.Context, st *State, pol Policy, latest snapshot.Pointer) (*Rollout, error) {
	now := c.opts.Clock().Unix()
	sel := pol.selectors()
	if !sameSelectors(st.Selectors, sel) {
		hash, err := c.hash(ctx, latest)
		if err != nil {
			return nil, err
		}
		if r := st.current(); r != nil {
			r.State, r.EndedAt = StateSuperseded, now
		}
		st.Selectors, st.Good, st.GoodHash = sel, latest, hash
		st.Released = make([]snapshot.Pointer, len(sel))
		for i := range st.Released {
			st.Released[i] = latest
		}
	}
	if newer(latest, st) {
		if err := c.begin(ctx, st, pol, latest, now); err != nil {
			return nil, err
		}
	}
	r := st.current()
	if r == nil {
		if len(st.Rollouts) > 0 && st.Rollouts[0].State == StateHalted && st.Rollouts[0].RollbackRevision == 0 &&
			st.Rollouts[0].RollbackTo != 0 && latest.Revision == st.Rollouts[0].Revision {
			// The rollback revision was not committed: try again.
			return &st.Rollouts[0], nil
		}
		return nil, nil
	}
	nodes, err := c.opts.Nodes.ListNodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing data planes: %w", err)
	}
	count(r, sel, live(nodes, c.opts.Clock()))
	if why := halted(r, pol, now); why != "" {
		halt(st, r, why, now)
		return r, nil
	}
	promote(st, r, pol, now)
	return nil, nil
}

// newer reports whether latest is a revision no rollout has seen.
func newer(latest snapshot.Pointer, st *State) bool {
	if latest.Equal(st.Good) {
		return false
	}
	if len(st.Rollouts) == 0 {
		return true
	}
	last := st.Rollouts[0].Pointer
	return latest.Identity() != last.Identity() || latest.Revision > last.Revision
}

// begin starts latest's rollout: to the first wave, or to every wave at
// once when its configuration is the one every wave ran (a rollback).
func (c *Controller) begin(ctx context.Context, st *State, pol Policy, latest snapshot.Pointer, now int64) error {
	hash, err := c.hash(ctx, latest)
	if err != nil {
		return err
	}
	if r := st.current(); r != nil {
		r.State, r.EndedAt = StateSuperseded, now
		for i := range r.Waves {
			if r.Waves[i].State == WaveBaking {
				r.Waves[i].State = WaveReleased
			}
		}
	}
	r := Rollout{Revision: latest.Revision, ConfigHash: hash, Pointer: latest, State: StateInProgress, StartedAt: now}
	for _, w := range pol.Waves {
		r.Waves = append(r.Waves, WaveState{Selector: w.Selector, BakeSeconds: w.BakeSeconds, State: WavePending})
	}
	if hash == st.GoodHash {
		r.Rollback, r.State, r.EndedAt = true, StateCompleted, now
		for i := range r.Waves {
			r.Waves[i].State, r.Waves[i].ReleasedAt, r.Waves[i].BakedAt = WaveReleased, now, now
			st.Released[i] = latest
		}
		st.Good = latest
		c.opts.Logger.InfoContext(ctx, "rollout: the configuration every wave ran; released to every wave", "revision", latest.Revision)
	} else {
		r.Waves[0].State, r.Waves[0].ReleasedAt = WaveBaking, now
		st.Released[0] = latest
		c.opts.Logger.InfoContext(ctx, "rollout started", "revision", latest.Revision, "wave", r.Waves[0].Selector)
	}
	st.push(r)
	return nil
}

// hash returns the config hash of the revision p names, from its history
// record.
func (c *Controller) hash(ctx context.Context, p snapshot.Pointer) (string, error) {
	rec, err := c.opts.History.Get(ctx, p.Identity(), p.Revision, p.Revision)
	if err != nil {
		return "", fmt.Errorf("reading revision %d's record: %w", p.Revision, err)
	}
	return rec.ConfigHash, nil
}

// live drops the rows of data planes not seen for cluster.DefaultStaleAfter
// (three missed heartbeats): a data plane that is gone must not keep a
// wave from its acknowledgement share.
func live(nodes []cluster.Node, now time.Time) []cluster.Node {
	out := nodes[:0:0]
	for _, n := range nodes {
		if now.Sub(time.Unix(n.LastSeen, 0)) < cluster.DefaultStaleAfter {
			out = append(out, n)
		}
	}
	return out
}

// count refreshes the released waves' data-plane counts and traffic.
func count(r *Rollout, sel []string, nodes []cluster.Node) {
	for i := range r.Waves {
		w := &r.Waves[i]
		if w.State == WavePending {
			continue
		}
		w.DataPlanes, w.Acked, w.Rejected, w.Reported, w.Requests, w.Errors5xx = 0, 0, 0, 0, 0, 0
		for _, n := range nodes {
			if wave.Index(sel, n.Labels) != i {
				continue
			}
			w.DataPlanes++
			switch {
			case n.ClusterID == r.Pointer.ClusterID && n.Epoch == r.Pointer.Epoch && n.Revision >= r.Revision:
				w.Acked++
				if n.UpdatedAt >= w.ReleasedAt+w.BakeSeconds {
					w.Reported++
				}
				if n.Revision == r.Revision {
					w.Requests += n.Requests
					w.Errors5xx += n.Errors5xx
				}
			case n.RejectedRevision == r.Revision:
				w.Rejected++
			}
		}
	}
}

// halted returns why r must halt, empty when it must not.
func halted(r *Rollout, pol Policy, now int64) string {
	if r.HaltRequested != "" {
		return r.HaltRequested
	}
	for _, w := range r.Waves {
		if w.State == WavePending {
			continue
		}
		switch {
		case pol.HaltOn.Rejected && w.Rejected > 0:
			return fmt.Sprintf("wave %s: %d data plane(s) rejected revision %d", w.Selector, w.Rejected, r.Revision)
		case pol.HaltOn.ErrorRatio5xx > 0 && w.Requests >= MinRequests &&
			float64(w.Errors5xx)/float64(w.Requests) > pol.HaltOn.ErrorRatio5xx:
			return fmt.Sprintf("wave %s: 5xx ratio %.3f over %d requests exceeds %g", w.Selector,
				float64(w.Errors5xx)/float64(w.Requests), w.Requests, pol.HaltOn.ErrorRatio5xx)
		case w.State == WaveBaking && pol.HaltOn.AckTimeoutSeconds > 0 && now-w.ReleasedAt >= pol.HaltOn.AckTimeoutSeconds &&
			!acked(w, pol):
			return fmt.Sprintf("wave %s: %d of %d data planes acknowledged revision %d within %d s (minimum share %g)",
				w.Selector, w.Acked, w.DataPlanes, r.Revision, pol.HaltOn.AckTimeoutSeconds, pol.HaltOn.MinAckShare)
		}
	}
	return ""
}

// acked reports whether enough of w's data planes run the revision.
func acked(w WaveState, pol Policy) bool {
	return w.DataPlanes == 0 || float64(w.Acked)/float64(w.DataPlanes) >= pol.HaltOn.MinAckShare
}

// promote releases r to the next waves whose predecessor baked (or was
// promoted through the Admin API), and completes it after the last. A
// wave has baked when its bake time passed, enough of its data planes
// run the revision, and each of those reported after the bake ended (so
// the halt conditions saw the whole bake).
func promote(st *State, r *Rollout, pol Policy, now int64) {
	for i := range r.Waves {
		w := &r.Waves[i]
		if w.State != WaveBaking {
			continue
		}
		baked := now >= w.ReleasedAt+w.BakeSeconds && acked(*w, pol) &&
			(w.BakeSeconds == 0 || w.Reported == w.Acked || now >= w.ReleasedAt+w.BakeSeconds+ReportGrace)
		if !r.PromoteRequested && !baked {
			return
		}
		r.PromoteRequested = false
		w.State, w.BakedAt = WaveReleased, now
		if i+1 == len(r.Waves) {
			r.State, r.EndedAt = StateCompleted, now
			st.Good, st.GoodHash = r.Pointer, r.ConfigHash
			return
		}
		next := &r.Waves[i+1]
		next.State, next.ReleasedAt = WaveBaking, now
		st.Released[i+1] = r.Pointer
	}
}

// halt stops r for why: its waves are marked halted, and the revision
// every wave ran is to be restored. Step logs it (and calls OnHalt) once
// the state is written.
func halt(st *State, r *Rollout, why string, now int64) {
	r.State, r.HaltReason, r.EndedAt, r.HaltRequested, r.PromoteRequested = StateHalted, why, now, "", false
	for i := range r.Waves {
		if r.Waves[i].State != WavePending {
			r.Waves[i].State = WaveHalted
		}
	}
	r.RollbackTo = st.Good.Revision
}

// restore commits the configuration every wave ran as a new revision,
// which the publisher then releases to every wave, and records it.
func (c *Controller) restore(ctx context.Context, r *Rollout) {
	if c.opts.Restorer == nil || r.RollbackTo == 0 {
		return
	}
	st, _, err := c.state(ctx)
	if err != nil {
		c.opts.Logger.ErrorContext(ctx, "rollout: reading the state for the rollback", "error", err)
		return
	}
	cfg, err := c.opts.History.Config(ctx, st.Good.Identity(), st.Good.Revision)
	if err != nil {
		c.opts.Logger.ErrorContext(ctx, "rollout: reading the last good configuration", "revision", st.Good.Revision, "error", err)
		return
	}
	rev, err := c.opts.Restorer.ReplaceAll(ctx, cfg, fmt.Sprintf("rollback of revision %d to %d", r.Revision, st.Good.Revision))
	if err != nil {
		c.opts.Logger.ErrorContext(ctx, "rollout: committing the rollback", "revision", r.Revision, "error", err)
		return
	}
	c.opts.Logger.WarnContext(ctx, "rollout rolled back", "revision", r.Revision, "to", st.Good.Revision, "new_revision", rev)
	_ = c.update(ctx, r.Revision, func(x *Rollout) error {
		x.RollbackRevision = rev
		return nil
	})
}

// release writes released.json from st when it differs; it reports
// whether it did.
func (c *Controller) release(ctx context.Context, st State) (bool, error) {
	want := wave.Released{}
	for i, s := range st.Selectors {
		want.Waves = append(want.Waves, wave.Wave{Selector: s, Pointer: st.Released[i]})
	}
	data, etag, err := objstore.GetMax(ctx, c.opts.Objects, wave.ReleasedKey, wave.MaxReleased)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		etag = ""
	case err != nil:
		return false, fmt.Errorf("reading %s: %w", wave.ReleasedKey, err)
	default:
		if have, err := wave.Parse(data); err == nil && sameReleased(have, want) {
			return false, nil
		}
	}
	if err := c.putJSON(ctx, wave.ReleasedKey, want, etag); err != nil {
		return false, err
	}
	return true, nil
}

func sameReleased(a, b wave.Released) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// dropReleased removes released.json when no policy is set: every data
// plane follows latest.json again.
func (c *Controller) dropReleased(ctx context.Context) (bool, error) {
	if _, _, err := objstore.GetMax(ctx, c.opts.Objects, wave.ReleasedKey, wave.MaxReleased); errors.Is(err, objstore.ErrNotFound) {
		return false, nil
	}
	if err := c.opts.Objects.Delete(ctx, wave.ReleasedKey); err != nil {
		return false, fmt.Errorf("deleting %s: %w", wave.ReleasedKey, err)
	}
	return true, nil
}

// StoreRestorer adapts the configuration store's ReplaceAll.
func StoreRestorer(s interface {
	ReplaceAll(ctx context.Context, cfg *model.Config, o store.Origin) (int64, error)
}) Restorer {
	return storeRestorer{s}
}

type storeRestorer struct {
	s interface {
		ReplaceAll(ctx context.Context, cfg *model.Config, o store.Origin) (int64, error)
	}
}

// ReplaceAll commits cfg, its change record naming the reason.
func (r storeRestorer) ReplaceAll(ctx context.Context, cfg *model.Config, reason string) (int64, error) {
	return r.s.ReplaceAll(ctx, cfg, store.Origin{RequestID: "rollout", Method: "ROLLBACK", Path: reason})
}

// wasHalted reports whether the state encoded in before already had
// rev's rollout halted: the halt Step found is then a retried rollback,
// not a new halt.
func wasHalted(before []byte, rev int64) bool {
	var st State
	if json.Unmarshal(before, &st) != nil {
		return false
	}
	r := st.find(rev)
	return r != nil && r.State == StateHalted
}
