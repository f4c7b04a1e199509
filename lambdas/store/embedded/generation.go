package embedded

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/skyport-gw/skyport/internal/model"
)

// A generation is one whole configuration: its entity, version, unique
// and reference buckets, nested in the top-level bucket "g:<name>". The
// meta bucket names the current one; every read and write goes to it. A
// replace stages a new generation in several transactions, aside, and
// makes it current in one (commitGeneration); the generation it replaced,
// and any left by a replace that failed or a process that stopped
// midway, is deleted afterwards (dropGeneration, and Open). A file
// written before generations keeps its buckets at the top level until
// its first replace.
var (
	generationKey = []byte("generation")
	// baseKey, in a generation's bucket, holds the revision that made it
	// current: the version of the entities it was staged with.
	baseKey = []byte("base")
)

// ErrStagedGone is returned when a staged generation disappeared before
// it was committed: dropped by a failure, or by Open after a restart.
var ErrStagedGone = errors.New("the staged configuration is gone")

func generationBucket(gen string) []byte { return []byte("g:" + gen) }

// dataBuckets are the buckets of one generation.
func dataBuckets() [][]byte {
	out := [][]byte{refsBucket}
	for _, k := range model.Kinds {
		out = append(out, entityBucket(k), uniqueBucket(k), versionBucket(k))
	}
	return out
}

// currentGeneration returns the current generation's name; empty for a
// file whose buckets are at the top level.
func currentGeneration(tx *bolt.Tx) string {
	return string(tx.Bucket(metaBucket).Get(generationKey))
}

// current returns a txn over tx's current generation.
func current(tx *bolt.Tx) txn {
	t := txn{tx: tx}
	if gen := currentGeneration(tx); gen != "" {
		t.root = tx.Bucket(generationBucket(gen))
		if v := t.root.Get(baseKey); len(v) == 8 {
			t.base = int64(binary.BigEndian.Uint64(v))
		}
	}
	return t
}

// bucket returns the current generation's bucket name.
func (t txn) bucket(name []byte) *bolt.Bucket {
	if t.root != nil {
		return t.root.Bucket(name)
	}
	return t.tx.Bucket(name)
}

// newGeneration creates an empty generation, aside, and returns its name.
func (s *Store) newGeneration() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("naming a generation: %w", err)
	}
	gen := hex.EncodeToString(b[:])
	err := s.db.Update(func(tx *bolt.Tx) error {
		_, err := createGeneration(tx, gen)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("creating generation %s: %w", gen, err)
	}
	return gen, nil
}

// createGeneration creates generation gen's bucket and its empty data
// buckets in tx, and returns its bucket.
func createGeneration(tx *bolt.Tx, gen string) (*bolt.Bucket, error) {
	root, err := tx.CreateBucket(generationBucket(gen))
	if err != nil {
		return nil, err
	}
	for _, name := range dataBuckets() {
		if _, err := root.CreateBucket(name); err != nil {
			return nil, err
		}
	}
	return root, nil
}

// commitGeneration makes the staged generation gen current in t's
// revision, replacing whatever the current generation holds (writes
// committed while gen was staged included, as dynamo.Store's
// CommitStaged does), and returns the generation it replaced ("" for the
// top-level buckets of an older file).
func commitGeneration(t txn, gen string) (old string, err error) {
	root := t.tx.Bucket(generationBucket(gen))
	if root == nil {
		return "", fmt.Errorf("committing generation %s: %w", gen, ErrStagedGone)
	}
	old = currentGeneration(t.tx)
	if err := root.Put(baseKey, revKey(t.rev)); err != nil {
		return "", fmt.Errorf("committing generation %s: %w", gen, err)
	}
	if err := t.tx.Bucket(metaBucket).Put(generationKey, []byte(gen)); err != nil {
		return "", fmt.Errorf("committing generation %s: %w", gen, err)
	}
	t.log.Replace()
	return old, nil
}

// dropGeneration deletes generation gen unless it is current; gen ""
// deletes the top-level buckets of an older file once a generation is
// current.
func (s *Store) dropGeneration(gen string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		cur := currentGeneration(tx)
		if gen == cur {
			return nil
		}
		if gen != "" {
			return deleteBucket(tx, generationBucket(gen))
		}
		for _, name := range dataBuckets() {
			if err := deleteBucket(tx, name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dropping generation %q: %w", gen, err)
	}
	return nil
}

func deleteBucket(tx *bolt.Tx, name []byte) error {
	if tx.Bucket(name) == nil {
		return nil
	}
	return tx.DeleteBucket(name)
}

// dropStale deletes every generation that is not current: those staged
// by a replace the process did not finish, and one a commit replaced but
// had no time to delete; but a resumable replace's (ReplaceResumable),
// which its job goes on with.
func (s *Store) dropStale() error {
	var stale []string
	err := s.db.View(func(tx *bolt.Tx) error {
		cur := currentGeneration(tx)
		if cur != "" && tx.Bucket(refsBucket) != nil {
			stale = append(stale, "")
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if gen, ok := bytes.CutPrefix(name, []byte("g:")); ok && string(gen) != cur && !resumable(b) {
				stale = append(stale, string(gen))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, gen := range stale {
		if err := s.dropGeneration(gen); err != nil {
			return err
		}
	}
	return nil
}
