// Package embedded is the configuration store of `skyport local`: one bbolt
// file, every write one transaction, except a replace of the whole
// configuration: staged as a new generation in several, made current in
// one (generation.go). It passes the same conformance suite
// as the DynamoDB store (storetest). The file holds the cluster identity
// (store.Identity), created with it.
package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

var _ store.Store = (*Store)(nil)

// Bucket names. Entities live in one bucket per kind ("e:services"), keyed
// by id; their versions in one bucket per kind ("v:services"), keyed by id
// with the revision of the write that last stored the entity (8 bytes, big
// endian; an entity without one predates versions and is at version 0);
// unique values in one bucket per kind ("u:services"), keyed by
// "<field>\x00<value>" with the owner's id as value; references in refsBucket;
// the change log (store.LogEntry JSON) in logBucket, keyed by revision,
// its entries older than store.LogRetention revisions pruned by the write
// that passes them.
var (
	metaBucket    = []byte("meta")
	changesBucket = []byte("changes")
	refsBucket    = []byte("refs")
	logBucket     = []byte("log")
	revisionKey   = []byte("revision")
)

// initialMmap is the size of the file's first memory mapping.
const initialMmap = 1 << 30

func entityBucket(k model.Kind) []byte  { return []byte("e:" + string(k)) }
func uniqueBucket(k model.Kind) []byte  { return []byte("u:" + string(k)) }
func versionBucket(k model.Kind) []byte { return []byte("v:" + string(k)) }

// DefaultStageBatch is how many writes a replace puts in one
// transaction: bbolt holds a transaction's dirty pages in memory until
// it commits.
const DefaultStageBatch = 50_000

// Options tunes a Store.
type Options struct {
	// StageBatch is how many writes one transaction of a replace holds;
	// 0 means DefaultStageBatch.
	StageBatch int
	// ReleaseEvery is how many entities an export decodes between two
	// releases of the file pages it read (releasePages); 0 means
	// DefaultReleaseEvery.
	ReleaseEvery int
}

// DefaultReleaseEvery is Options.ReleaseEvery's default.
const DefaultReleaseEvery = 50_000

// Store is the embedded configuration store.
type Store struct {
	db *bolt.DB
	// batch is how many puts one staging transaction holds.
	batch int
	// releaseEvery is Options.ReleaseEvery.
	releaseEvery int

	mu    sync.Mutex
	hooks []func(rev int64)
}

// Open opens (creating if needed) the store in the file at path.
func Open(path string) (*Store, error) { return OpenWith(path, Options{}) }

// OpenWith is Open with options.
func OpenWith(path string, opts Options) (*Store, error) {
	if opts.StageBatch <= 0 {
		opts.StageBatch = DefaultStageBatch
	}
	if opts.ReleaseEvery <= 0 {
		opts.ReleaseEvery = DefaultReleaseEvery
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: 5 * time.Second,
		// Address space, not memory: a file that outgrows its mapping is
		// remapped, and every remap copies each node the open write
		// transaction holds, which a large replace paid for again and
		// again as the file doubled.
		InitialMmapSize: initialMmap,
		// A replace frees every page of the configuration it replaces;
		// the map freelist finds and merges free pages without sorting
		// them all on every commit.
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{metaBucket, changesBucket, logBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if currentGeneration(tx) == "" {
			for _, b := range dataBuckets() {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
		}
		return ensureIdentity(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initializing store %s: %w", path, err)
	}
	db.MaxBatchDelay = maxBatchDelay
	s := &Store{db: db, batch: opts.StageBatch, releaseEvery: opts.ReleaseEvery}
	if err := s.dropStale(); err != nil {
		db.Close()
		return nil, fmt.Errorf("cleaning up store %s: %w", path, err)
	}
	return s, nil
}

// maxBatchDelay is how long a write waits for concurrent ones to share
// its commit: short, since a lone writer waits it out every time.
const maxBatchDelay = 2 * time.Millisecond

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// OnCommit registers fn, called with the new revision after every
// committed write that raised it, outside the transaction, on the
// writer's goroutine: fn should hand the work off quickly. Calls from
// concurrent writers may overlap and arrive out of order: fn should read
// the newest state rather than trust the order of calls.
func (s *Store) OnCommit(fn func(rev int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, fn)
}

func (s *Store) committed(rev int64) {
	s.mu.Lock()
	hooks := slices.Clone(s.hooks)
	s.mu.Unlock()
	for _, fn := range hooks {
		fn(rev)
	}
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	err := s.db.View(func(tx *bolt.Tx) error {
		rev = revisionOf(tx)
		return nil
	})
	return rev, err
}

func revisionOf(tx *bolt.Tx) int64 {
	v := tx.Bucket(metaBucket).Get(revisionKey)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func revKey(rev int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(rev))
}
