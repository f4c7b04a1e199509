package embedded

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// hashKey holds, in the meta bucket, the revision (8 bytes, big endian)
// and the configuration hash recorded for it.
var hashKey = []byte("config_hash")

// ConfigHash implements store.Store.
func (s *Store) ConfigHash(ctx context.Context) (string, int64, bool, error) {
	var (
		hash string
		rev  int64
		ok   bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		rev = revisionOf(tx)
		recRev, recHash := recordedHash(tx)
		hash, ok = recHash, recRev == rev && recHash != ""
		return nil
	})
	if err != nil {
		return "", 0, false, fmt.Errorf("reading the configuration hash: %w", err)
	}
	return hash, rev, ok, nil
}

// RecordConfigHash implements store.Store.
func (s *Store) RecordConfigHash(ctx context.Context, rev int64, hash string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if recRev, recHash := recordedHash(tx); recHash != "" && recRev > rev {
			return nil
		}
		return tx.Bucket(metaBucket).Put(hashKey, append(revKey(rev), hash...))
	})
	if err != nil {
		return fmt.Errorf("recording the configuration hash of revision %d: %w", rev, err)
	}
	return nil
}

func recordedHash(tx *bolt.Tx) (int64, string) {
	v := tx.Bucket(metaBucket).Get(hashKey)
	if len(v) <= 8 {
		return 0, ""
	}
	return int64(binary.BigEndian.Uint64(v[:8])), string(v[8:])
}
