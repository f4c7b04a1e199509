package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// write runs fn in one read-write transaction. When fn returns a non-nil
// summary, the revision is raised by one and a change record written in
// the same transaction; the commit hooks run after the commit. A nil
// summary means nothing changed: the revision stays.
//
// Concurrent writes share one commit (bbolt's Batch: one fsync for the
// writes that arrive within maxBatchDelay of each other), each still
// raising the revision by one in turn: decK's ten parallel writers commit
// about four times as many entities a second. A write that fails is run
// again alone, so its error is its own; fn only touches the transaction,
// so running it again is safe.
func (s *Store) write(ctx context.Context, o store.Origin, fn func(t txn) ([]string, error)) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var rev int64
	changed := false
	err := s.db.Batch(func(tx *bolt.Tx) error {
		rev, changed = revisionOf(tx), false
		log := &store.LogBuilder{}
		t := current(tx)
		t.rev, t.log = rev+1, log
		summary, err := fn(t)
		if err != nil {
			return err
		}
		if summary == nil {
			return nil
		}
		rev++
		changed = true
		if err := tx.Bucket(metaBucket).Put(revisionKey, revKey(rev)); err != nil {
			return fmt.Errorf("writing revision %d: %w", rev, err)
		}
		c, err := json.Marshal(store.Change{Revision: rev, Time: time.Now().Unix(), Origin: o, Summary: summary})
		if err != nil {
			return fmt.Errorf("encoding change %d: %w", rev, err)
		}
		if err := tx.Bucket(changesBucket).Put(revKey(rev), c); err != nil {
			return fmt.Errorf("writing change %d: %w", rev, err)
		}
		return writeLog(tx, rev, log.Entry())
	})
	var me *model.Error
	switch {
	case errors.Is(err, store.ErrConflict) || errors.As(err, &me):
		return 0, err
	case err != nil:
		return 0, fmt.Errorf("writing to the store: %w", err)
	}
	if changed {
		s.committed(rev)
	}
	return rev, nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, e model.Entity, o store.Origin) (int64, error) {
	if e.Meta().ID == "" {
		return 0, fmt.Errorf("creating %s: the entity has no id", e.Kind())
	}
	return s.write(ctx, o, func(t txn) ([]string, error) {
		old, err := t.get(e.Kind(), e.Meta().ID)
		if err != nil {
			return nil, err
		}
		if old != nil {
			return nil, store.PrimaryKeyViolation(e.Meta().ID)
		}
		if err := t.insert(e); err != nil {
			return nil, err
		}
		return []string{store.Summary("create", e)}, nil
	})
}

// Update implements store.Store: the version check, the removal of the
// old entity and the insert of the new one are one transaction.
func (s *Store) Update(ctx context.Context, e model.Entity, ver store.Version, o store.Origin) (int64, error) {
	k, id := e.Kind(), e.Meta().ID
	if id == "" {
		return 0, fmt.Errorf("updating %s: the entity has no id", k)
	}
	return s.write(ctx, o, func(t txn) ([]string, error) {
		old, err := t.get(k, id)
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, store.NotFound(k, id)
		}
		if t.version(k, id) != ver {
			return nil, fmt.Errorf("updating %s %s: %w", k, id, store.ErrConflict)
		}
		if err := t.remove(old); err != nil {
			return nil, err
		}
		if err := t.insert(e); err != nil {
			return nil, err
		}
		return []string{store.Summary("update", e)}, nil
	})
}

// Delete implements store.Store: the version check, the cascade and the
// restricting references are read in the transaction that deletes.
func (s *Store) Delete(ctx context.Context, k model.Kind, id string, ver store.Version, o store.Origin) (int64, error) {
	if !k.Valid() {
		return 0, fmt.Errorf("deleting %s %s: unknown kind", k, id)
	}
	return s.write(ctx, o, func(t txn) ([]string, error) {
		root, err := t.get(k, id)
		if err != nil || root == nil {
			return nil, err
		}
		if ver != store.AnyVersion && t.version(k, id) != ver {
			return nil, fmt.Errorf("deleting %s %s: %w", k, id, store.ErrConflict)
		}
		doomed, err := t.deletion(root)
		if err != nil {
			return nil, err
		}
		summary := make([]string, 0, len(doomed))
		for _, e := range doomed {
			if err := t.remove(e); err != nil {
				return nil, err
			}
			summary = append(summary, store.Summary("delete", e))
		}
		return summary, nil
	})
}

// ReplaceAll implements store.Store: ReplaceInBatches.
func (s *Store) ReplaceAll(ctx context.Context, cfg *model.Config, o store.Origin) (int64, error) {
	return s.ReplaceInBatches(ctx, cfg, nil, o, nil)
}

// ReplaceInBatches replaces the whole configuration by cfg as one
// revision, whose change record carries summary (ReplaceAll's "replace
// all: N entities" when empty: s.write commits nothing for a nil
// summary). The configuration is
// checked first (planReplace), then staged as a new generation in
// transactions of a bounded number of writes, in key order, and made
// current in one last transaction: readers and the change log see the
// old configuration or the whole new one. progress, when not nil, is
// called with the number of entities staged after each transaction; an
// error from it stops the replace. A replace that fails or stops leaves
// nothing visible and deletes what it staged (a process that stops
// midway leaves it to the next Open).
func (s *Store) ReplaceInBatches(ctx context.Context, cfg *model.Config, summary []string, o store.Origin, progress func(written int) error) (int64, error) {
	if len(summary) == 0 {
		summary = []string{fmt.Sprintf("replace all: %d entities", cfg.Len())}
	}
	r, err := planReplace(cfg)
	if err != nil {
		return 0, err
	}
	gen, err := s.newGeneration()
	if err != nil {
		return 0, err
	}
	var old string
	err = s.stage(ctx, gen, r.runs(), progress)
	var rev int64
	if err == nil {
		rev, err = s.write(ctx, o, func(t txn) ([]string, error) {
			var err error
			old, err = commitGeneration(t, gen)
			return summary, err
		})
	}
	if err != nil {
		if dropErr := s.dropGeneration(gen); dropErr != nil {
			err = errors.Join(err, dropErr)
		}
		return 0, err
	}
	// The replaced generation is no longer read; a failure to delete it
	// now leaves it to the next Open.
	_ = s.dropGeneration(old)
	return rev, nil
}
