package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// clusterKey holds the identity in metaBucket.
var clusterKey = []byte("cluster")

// identityRecord is the stored identity: the cluster, the epoch, and when
// the epoch began.
type identityRecord struct {
	ClusterID string `json:"cluster_id"`
	Epoch     int64  `json:"epoch"`
	// Since is when the epoch began (Unix seconds).
	Since int64 `json:"since"`
}

// ensureIdentity creates the identity in tx when the file has none: a new
// file, or one written before identities existed.
func ensureIdentity(tx *bolt.Tx) error {
	b := tx.Bucket(metaBucket)
	if b.Get(clusterKey) != nil {
		return nil
	}
	return putIdentity(b, identityRecord{ClusterID: uuid.NewString(), Epoch: 1, Since: time.Now().Unix()})
}

func putIdentity(b *bolt.Bucket, r identityRecord) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding the cluster identity: %w", err)
	}
	return b.Put(clusterKey, raw)
}

func identityOf(tx *bolt.Tx) (snapshot.Identity, error) {
	var r identityRecord
	if err := json.Unmarshal(tx.Bucket(metaBucket).Get(clusterKey), &r); err != nil {
		return snapshot.Identity{}, fmt.Errorf("reading the cluster identity: %w", err)
	}
	id := snapshot.Identity{ClusterID: r.ClusterID, Epoch: r.Epoch}
	if err := id.Check(); err != nil || id.IsZero() {
		return snapshot.Identity{}, fmt.Errorf("reading the cluster identity: %w", snapshot.ErrIdentity)
	}
	return id, nil
}

// Identity implements store.Store. The file cannot tell whether it is a
// restored copy of itself, so Restored is always false: the publisher
// tells a restored file by its revision behind what its epoch published.
func (s *Store) Identity(ctx context.Context) (store.Identity, error) {
	var id snapshot.Identity
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		id, err = identityOf(tx)
		return err
	})
	return store.Identity{Identity: id}, err
}

// NewEpoch implements store.Store.
func (s *Store) NewEpoch(ctx context.Context, from snapshot.Identity, to int64) (snapshot.Identity, error) {
	var out snapshot.Identity
	err := s.db.Update(func(tx *bolt.Tx) error {
		cur, err := identityOf(tx)
		if err != nil {
			return err
		}
		if cur != from {
			return fmt.Errorf("starting epoch %d: %w (now %s)", to, store.ErrEpochMoved, cur)
		}
		if to <= cur.Epoch {
			return fmt.Errorf("starting epoch %d: not after epoch %d", to, cur.Epoch)
		}
		out = snapshot.Identity{ClusterID: cur.ClusterID, Epoch: to}
		return putIdentity(tx.Bucket(metaBucket), identityRecord{ClusterID: out.ClusterID, Epoch: to, Since: time.Now().Unix()})
	})
	return out, err
}
