package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/skyport-gw/skyport/internal/objstore"
)

// maxState bounds state.json when read.
const maxState = 4 << 20

// state reads state.json and its ETag; an empty state and no ETag when
// there is none.
func (c *Controller) state(ctx context.Context) (State, string, error) {
	data, etag, err := objstore.GetMax(ctx, c.opts.Objects, StateKey, maxState)
	if errors.Is(err, objstore.ErrNotFound) {
		return State{}, "", nil
	}
	if err != nil {
		return State{}, "", fmt.Errorf("reading %s: %w", StateKey, err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, "", fmt.Errorf("reading %s: %w", StateKey, err)
	}
	if len(st.Released) != len(st.Selectors) {
		return State{}, "", fmt.Errorf("reading %s: %d pointers for %d waves", StateKey, len(st.Released), len(st.Selectors))
	}
	return st, etag, nil
}

// putJSON writes v at key, conditionally on etag ("" creates it).
func (c *Controller) putJSON(ctx context.Context, key string, v any, etag string) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	if _, err := c.opts.Objects.Put(ctx, key, data, objstore.Condition{IfMatch: etag, IfNoneMatch: etag == ""}); err != nil {
		return fmt.Errorf("writing %s: %w", key, err)
	}
	return nil
}

// Policy returns the rollout policy set through the Admin API, else the
// default one; ErrNoPolicy when there is neither.
func (c *Controller) Policy(ctx context.Context) (Policy, error) {
	data, _, err := objstore.GetMax(ctx, c.opts.Objects, PolicyKey, maxPolicyBytes)
	if errors.Is(err, objstore.ErrNotFound) {
		if c.opts.Default != nil {
			return *c.opts.Default, nil
		}
		return Policy{}, ErrNoPolicy
	}
	if err != nil {
		return Policy{}, fmt.Errorf("reading %s: %w", PolicyKey, err)
	}
	var p Policy
	if err := json.Unmarshal(data, &p); err != nil {
		return Policy{}, fmt.Errorf("reading %s: %w", PolicyKey, err)
	}
	return p, nil
}

// SetPolicy stores p (checked) as the policy.
func (c *Controller) SetPolicy(ctx context.Context, p Policy) error {
	if err := p.Check(); err != nil {
		return err
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encoding the policy: %w", err)
	}
	if _, err := c.opts.Objects.Put(ctx, PolicyKey, data, objstore.Condition{}); err != nil {
		return fmt.Errorf("writing %s: %w", PolicyKey, err)
	}
	return nil
}

// DeletePolicy removes the policy set through the Admin API: the default
// policy applies again, or, without one, the next step sends every data
// plane back to latest.json. Absent is not an error.
func (c *Controller) DeletePolicy(ctx context.Context) error {
	if err := c.opts.Objects.Delete(ctx, PolicyKey); err != nil {
		return fmt.Errorf("deleting %s: %w", PolicyKey, err)
	}
	return nil
}

// Rollouts returns the rollouts, newest first.
func (c *Controller) Rollouts(ctx context.Context) ([]Rollout, error) {
	st, _, err := c.state(ctx)
	return st.Rollouts, err
}

// Promote asks the rollout of rev to release its next wave without
// waiting for the bake; the next step acts on it.
func (c *Controller) Promote(ctx context.Context, rev int64) (Rollout, error) {
	return c.request(ctx, rev, func(r *Rollout) { r.PromoteRequested = true })
}

// Halt asks the rollout of rev to halt (and roll back); the next step
// acts on it.
func (c *Controller) Halt(ctx context.Context, rev int64) (Rollout, error) {
	return c.request(ctx, rev, func(r *Rollout) { r.HaltRequested = "halted through the Admin API" })
}

func (c *Controller) request(ctx context.Context, rev int64, fn func(*Rollout)) (Rollout, error) {
	var out Rollout
	err := c.update(ctx, rev, func(r *Rollout) error {
		if r.State != StateInProgress {
			return ErrNotInProgress
		}
		fn(r)
		out = *r
		return nil
	})
	return out, err
}

// update applies fn to rev's rollout in state.json, conditionally on the
// state read, retried on conflict.
func (c *Controller) update(ctx context.Context, rev int64, fn func(*Rollout) error) error {
	for range maxAttempts {
		st, etag, err := c.state(ctx)
		if err != nil {
			return err
		}
		r := st.find(rev)
		if r == nil {
			return ErrNoRollout
		}
		if err := fn(r); err != nil {
			return err
		}
		err = c.putJSON(ctx, StateKey, st, etag)
		if errors.Is(err, objstore.ErrPrecondition) {
			continue
		}
		return err
	}
	return ErrConflict
}
