// Package dynamo is the configuration store on DynamoDB, one table.
//
// Table layout (the CDK stack and the stream filter depend on it):
//
//	pk="REVISION"           sk="REVISION"        revision (N), gen (S): the current generation
//	pk="CLUSTER"            sk="CLUSTER"         cluster_id (S), epoch (N), table_id (S): the
//	                        identity (store.Identity) and the table its epoch began in
//	pk="HASH"               sk="HASH"            revision (N), hash (S): the configuration
//	                        hash recorded for that revision (RecordConfigHash)
//	pk="CHANGE"             sk=<20-digit rev>    data: the change record (store.Change JSON)
//	pk="LOG"                sk=<20-digit rev>    data: the change-log entry (store.LogEntry
//	                        JSON: the entities the revision stored and deleted, its
//	                        tombstones), expires_at (N): its TTL, LogTTL after the commit
//	pk="G#<gen>#E#<kind>"   sk=<id>              data: the entity JSON, ver (N): its version
//	pk="G#<gen>#U#<kind>"   sk=<field>#<value>   owner: the id holding a unique value
//	pk="G#<gen>#R#<kind>"   sk=<id>#<kind>#<id>#<field>: a reverse reference
//	                        (referenced id, then the referrer)
//
// Every write is one TransactWriteItems that also raises the revision item
// with the condition revision = the value read when the write started,
// so writes are serialized optimistically and retried on conflict, and
// every committed write shows on the stream as a change of the revision
// item. The transaction also writes the revision's change-log entry, so
// ChangedSince reads what a range of revisions changed by key, never by a
// scan. Entities live in a generation; ReplaceAll (and a delete cascade
// too large for one transaction) writes a new generation aside and makes
// it current in the one transaction that raises the revision. A create or
// update needing more than a transaction's 100 items (a service listing
// dozens of CA certificates) is refused with an error.
//
// An entity's ver is the revision of the write that last stored it; items
// written aside as a new generation, and items older than versions, have
// none (version 0). The version handed to callers is "<gen>:<ver>", so an
// entity read before a ReplaceAll is out of date after it whatever its
// ver. Update and Delete compare the caller's version with the item they
// read, and the transaction puts or deletes the entity item on the
// condition that its ver is still the one read (ConditionExpression beside
// the revision condition); a mismatch is store.ErrConflict.
//
// Transactions cancelled by a failed condition are mapped with their
// CancellationReasons: the revision condition or a transaction conflict
// means a concurrent write (retry), a unique guard a unique violation, a
// foreign key check a foreign key violation. The emulator used in tests
// reports the reasons as DynamoDB does.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/skyport-gw/skyport/lambdas/store"
)

var _ store.Store = (*Store)(nil)

// Attribute names and fixed keys of the table layout.
const (
	attrPK       = "pk"
	attrSK       = "sk"
	attrRevision = "revision"
	attrGen      = "gen"
	attrData     = "data"
	attrOwner    = "owner"
	attrVersion  = "ver"

	revisionKey = "REVISION"
	changePK    = "CHANGE"
	initialGen  = "0"
)

// maxItems is DynamoDB's limit of items in one transaction.
const maxItems = 100

// maxAttempts bounds the retries of a write that lost the race for the
// revision to another writer.
const maxAttempts = 100

// errConflict means another write committed first; the write is retried.
var errConflict = errors.New("revision changed by a concurrent write")

// ErrContention is returned when a write kept losing the race for the
// revision item to concurrent writers.
var ErrContention = errors.New("too much write contention on the revision item")

// ErrUnprocessed is returned when DynamoDB kept leaving keys of a
// BatchGetItem unprocessed (throttling) for batchGetAttempts calls.
var ErrUnprocessed = errors.New("DynamoDB kept leaving keys unprocessed")

// Store is the DynamoDB configuration store. Its writers take turns
// within one process (an attempt that would lose the race to a sibling
// goroutine is not worth sending); the revision condition arbitrates
// between processes.
type Store struct {
	db    *dynamodb.Client
	table string
	mu    sync.Mutex
	// idMu guards tableIncarnation, read once (tableID).
	idMu             sync.Mutex
	tableIncarnation string
	// logByKey is the widest range of revisions whose change-log
	// entries are read by key (logByKeyMax; tests set others).
	logByKey int
	// pause waits before a retry (the package's pause; tests set one
	// that does not sleep).
	pause func(ctx context.Context, attempt int) error
}

// New returns a store over table.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{db: client, table: table, logByKey: logByKeyMax, pause: pause}
}

// state is the revision item as read at the start of an operation.
type state struct {
	rev    int64
	gen    string
	exists bool
}

func (s *Store) state(ctx context.Context) (state, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(revisionKey, revisionKey),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return state{}, fmt.Errorf("reading the revision: %w", err)
	}
	if out.Item == nil {
		return state{gen: initialGen}, nil
	}
	st := state{gen: stringAttr(out.Item, attrGen), exists: true}
	if st.gen == "" {
		st.gen = initialGen
	}
	if n, ok := out.Item[attrRevision].(*types.AttributeValueMemberN); ok {
		if st.rev, err = strconv.ParseInt(n.Value, 10, 64); err != nil {
			return state{}, fmt.Errorf("reading the revision %q: %w", n.Value, err)
		}
	}
	return st, nil
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	st, err := s.state(ctx)
	return st.rev, err
}

// retry runs fn, holding mu, until it does not fail with errConflict,
// with jittered exponential backoff, at most maxAttempts times.
func retry[T any](ctx context.Context, mu *sync.Mutex, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		mu.Lock()
		v, err := fn(ctx)
		mu.Unlock()
		if !errors.Is(err, errConflict) {
			return v, err
		}
		if attempt+1 >= maxAttempts {
			return zero, ErrContention
		}
		if err := pause(ctx, attempt); err != nil {
			return zero, err
		}
	}
}

// pause waits a jittered, exponentially growing delay before attempt+1.
func pause(ctx context.Context, attempt int) error {
	backoff := min(5*time.Millisecond<<min(attempt, 6), 250*time.Millisecond)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		return nil
	}
}
