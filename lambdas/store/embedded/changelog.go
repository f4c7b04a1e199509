package embedded

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// writeLog writes revision rev's change-log entry and prunes the one that
// fell out of the retention.
func writeLog(tx *bolt.Tx, rev int64, e store.LogEntry) error {
	data, err := store.EncodeLogEntry(e)
	if err != nil {
		return err
	}
	b := tx.Bucket(logBucket)
	if err := b.Put(revKey(rev), data); err != nil {
		return fmt.Errorf("writing the change log of revision %d: %w", rev, err)
	}
	if old := rev - store.LogRetention; old > 0 {
		if err := b.Delete(revKey(old)); err != nil {
			return fmt.Errorf("pruning the change log of revision %d: %w", old, err)
		}
	}
	return nil
}

// ChangedSince implements store.Store: the log entries after base and the
// entities they name, in one read transaction.
func (s *Store) ChangedSince(ctx context.Context, base int64) (*store.ChangeSet, error) {
	var cs *store.ChangeSet
	err := s.db.View(func(tx *bolt.Tx) error {
		rev := revisionOf(tx)
		if base > rev {
			return fmt.Errorf("revision %d is ahead of the store's %d: %w", base, rev, store.ErrLogGap)
		}
		touched := store.Touched{}
		next := base + 1
		c := tx.Bucket(logBucket).Cursor()
		for k, v := c.Seek(revKey(base + 1)); k != nil && next <= rev; k, v = c.Next() {
			if at := int64(binary.BigEndian.Uint64(k)); at != next {
				return fmt.Errorf("no change-log entry for revision %d: %w", next, store.ErrLogGap)
			}
			e, err := store.DecodeLogEntry(v)
			if err != nil {
				return err
			}
			if err := touched.Add(next, e); err != nil {
				return err
			}
			next++
		}
		if next <= rev {
			return fmt.Errorf("no change-log entry for revision %d: %w", next, store.ErrLogGap)
		}
		t := current(tx)
		var err error
		cs, err = touched.Assemble(base, rev, func(r store.EntityRef) (model.Entity, error) { return t.get(r.Kind, r.ID) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the changes since revision %d: %w", base, err)
	}
	return cs, nil
}
