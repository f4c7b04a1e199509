package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// The change log: one item per revision, pk="LOG", sk=<20-digit rev>,
// data=store.LogEntry JSON, expires_at=its TTL (epoch seconds), written in
// the transaction that commits the revision. Its deletes are the
// revision's tombstones.
const (
	logPK       = "LOG"
	attrExpires = "expires_at"
)

// LogTTL is how long a change-log entry lives before DynamoDB's TTL
// removes it: past it, a publisher that far behind exports instead.
const LogTTL = 7 * 24 * time.Hour

// batchGetMax is BatchGetItem's limit of keys per call.
const batchGetMax = 100

// batchGetAttempts bounds the BatchGetItem calls of one batch of keys
// while DynamoDB leaves some unprocessed (about 3 s of backoff).
const batchGetAttempts = 16

// logItem is revision rev's change-log entry, expiring LogTTL after now.
func logItem(rev int64, e store.LogEntry, now time.Time) (item, error) {
	data, err := store.EncodeLogEntry(e)
	if err != nil {
		return nil, err
	}
	it := key(logPK, changeSK(rev))
	it[attrData] = str(string(data))
	it[attrExpires] = num(now.Add(LogTTL).Unix())
	return it, nil
}

// ChangedSince implements store.Store: the log entries after base (read
// by key, see eachLogEntry), the entities they name read by key
// (BatchGetItem, strongly consistent), and
// the revision read again; while it moved, the entries after the revision
// read and their entities are read again, so the set is the one of the
// last revision read (an entity not named since was not written since).
// An entry that expired or was never written, a replacement, or a
// generation swap is store.ErrLogGap.
func (s *Store) ChangedSince(ctx context.Context, base int64) (*store.ChangeSet, error) {
	st, err := s.state(ctx)
	if err != nil {
		return nil, err
	}
	if base > st.rev {
		return nil, fmt.Errorf("revision %d is ahead of the store's %d: %w", base, st.rev, store.ErrLogGap)
	}
	touched := store.Touched{}
	got := map[store.EntityRef]model.Entity{}
	from := base
	for attempt := range exportAttempts {
		if attempt > 0 {
			if err := s.pause(ctx, attempt); err != nil {
				return nil, err
			}
		}
		fresh, err := s.readLog(ctx, from, st.rev)
		if err != nil {
			return nil, err
		}
		if err := s.batchGet(ctx, st.gen, fresh, got); err != nil {
			return nil, err
		}
		for r := range fresh {
			touched[r] = struct{}{}
		}
		after, err := s.state(ctx)
		if err != nil {
			return nil, err
		}
		if after.rev == st.rev && after.gen == st.gen {
			return touched.Assemble(base, st.rev, func(r store.EntityRef) (model.Entity, error) { return got[r], nil })
		}
		from, st = st.rev, after
	}
	return nil, fmt.Errorf("reading the changes since revision %d after %d attempts: %w", base, exportAttempts, store.ErrUnstable)
}

// logByKeyMax is the widest range of revisions the change log is read
// by key (BatchGetItem, 100 keys a call); a wider one is read by a Query
// of the log's partition from the range's start. On DynamoDB both cost
// the entries read (by key at least a read unit an entry, where a Query
// bills its bytes, 4 KB a unit: a few units more for the common range,
// the few revisions since the last publication); on an emulator that
// answers a Query by walking every item of the table, only the keyed
// read does.
const logByKeyMax = 300

// readLog returns the entities the log entries of (from, to] name; every
// one of those revisions must have its entry.
func (s *Store) readLog(ctx context.Context, from, to int64) (store.Touched, error) {
	touched := store.Touched{}
	err := s.eachLogEntry(ctx, from, to, func(rev int64, e store.LogEntry) error { return touched.Add(rev, e) })
	if err != nil {
		return nil, err
	}
	return touched, nil
}

// eachLogEntry calls fn with the change-log entry of every revision of
// (from, to], in order, each once: by key when the range is at most
// s.logByKey revisions, else by a Query. A revision without an entry (it
// expired, or was never logged) is store.ErrLogGap. Entries after to,
// committed while it reads, are not read.
func (s *Store) eachLogEntry(ctx context.Context, from, to int64, fn func(int64, store.LogEntry) error) error {
	if to <= from {
		return nil
	}
	var err error
	if to-from <= int64(s.logByKey) {
		err = s.getLog(ctx, from, to, fn)
	} else {
		err = s.queryLog(ctx, from, to, fn)
	}
	if err != nil {
		return fmt.Errorf("reading the change log after revision %d: %w", from, err)
	}
	return nil
}

// getLog reads the entries of (from, to] by key, 100 a call, strongly
// consistent.
func (s *Store) getLog(ctx context.Context, from, to int64, fn func(int64, store.LogEntry) error) error {
	for lo := from + 1; lo <= to; lo += batchGetMax {
		hi := min(lo+batchGetMax-1, to)
		keys := make([]item, 0, hi-lo+1)
		for rev := lo; rev <= hi; rev++ {
			keys = append(keys, key(logPK, changeSK(rev)))
		}
		got := make(map[int64]item, len(keys))
		err := s.getItems(ctx, keys, func(it item) error {
			rev, err := logRev(it)
			if err == nil {
				got[rev] = it
			}
			return err
		})
		if err != nil {
			return err
		}
		for rev := lo; rev <= hi; rev++ {
			it, ok := got[rev]
			if !ok {
				return fmt.Errorf("no change-log entry for revision %d: %w", rev, store.ErrLogGap)
			}
			if err := decodeLogItem(rev, it, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// queryLog reads the entries of (from, to] by a Query of the log's
// partition after from, stopping at to.
func (s *Store) queryLog(ctx context.Context, from, to int64, fn func(int64, store.LogEntry) error) error {
	next := from + 1
	err := s.query(ctx, logPK, changeSK(from), "", func(it item) (bool, error) {
		rev, err := logRev(it)
		if err != nil {
			return false, err
		}
		if rev > to {
			return false, nil
		}
		if rev != next {
			return false, fmt.Errorf("no change-log entry for revision %d: %w", next, store.ErrLogGap)
		}
		if err := decodeLogItem(rev, it, fn); err != nil {
			return false, err
		}
		next++
		return next <= to, nil
	})
	if err != nil {
		return err
	}
	if next <= to {
		return fmt.Errorf("no change-log entry for revision %d: %w", next, store.ErrLogGap)
	}
	return nil
}

// logRev is the revision of a change-log item, its sort key.
func logRev(it item) (int64, error) {
	rev, err := strconv.ParseInt(stringAttr(it, attrSK), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading change-log entry %q: %w", stringAttr(it, attrSK), err)
	}
	return rev, nil
}

// decodeLogItem decodes revision rev's change-log item and hands it to fn.
func decodeLogItem(rev int64, it item, fn func(int64, store.LogEntry) error) error {
	e, err := store.DecodeLogEntry([]byte(stringAttr(it, attrData)))
	if err != nil {
		return fmt.Errorf("decoding the change-log entry of revision %d: %w", rev, err)
	}
	return fn(rev, e)
}

// batchGet reads the entities refs names from generation gen into got
// (nil for an absent one), strongly consistent, 100 keys a call, retrying
// what DynamoDB leaves unprocessed.
func (s *Store) batchGet(ctx context.Context, gen string, refs store.Touched, got map[store.EntityRef]model.Entity) error {
	keys := make([]item, 0, min(len(refs), batchGetMax))
	flush := func() error {
		err := s.getKeys(ctx, keys, func(k model.Kind, it item) error {
			e, err := decodeItem(k, it)
			if err == nil {
				got[store.EntityRef{Kind: k, ID: e.Meta().ID}] = e
			}
			return err
		})
		keys = keys[:0]
		return err
	}
	for r := range refs {
		got[r] = nil
		if r.ID == "" || len(r.ID) > maxSortKey || !r.Kind.Valid() {
			continue
		}
		keys = append(keys, entityKey(gen, r.Kind, r.ID))
		if len(keys) == batchGetMax {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(keys) > 0 {
		return flush()
	}
	return nil
}

// getKeys runs one BatchGetItem of at most 100 entity keys to completion.
func (s *Store) getKeys(ctx context.Context, keys []item, fn func(model.Kind, item) error) error {
	err := s.getItems(ctx, keys, func(it item) error { return fn(kindOfPK(stringAttr(it, attrPK)), it) })
	if err != nil {
		return fmt.Errorf("reading changed entities: %w", err)
	}
	return nil
}

// getItems runs one BatchGetItem of at most 100 keys to completion,
// strongly consistent, retrying what DynamoDB leaves unprocessed with
// backoff, at most batchGetAttempts calls (then ErrUnprocessed); fn gets
// the items found, in no particular order.
func (s *Store) getItems(ctx context.Context, keys []item, fn func(item) error) error {
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt == batchGetAttempts {
			return fmt.Errorf("reading %d items by key, %d still unprocessed after %d calls: %w",
				len(keys), len(req[s.table].Keys), attempt, ErrUnprocessed)
		}
		if attempt > 0 {
			if err := s.pause(ctx, attempt); err != nil {
				return err
			}
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return fmt.Errorf("reading %d items by key: %w", len(keys), err)
		}
		for _, it := range out.Responses[s.table] {
			if err := fn(it); err != nil {
				return err
			}
		}
		req = out.UnprocessedKeys
	}
	return nil
}

// kindOfPK returns the kind of an entity partition key "G#<gen>#E#<kind>".
func kindOfPK(pk string) model.Kind {
	for i := len(pk) - 1; i >= 0; i-- {
		if pk[i] == '#' {
			return model.Kind(pk[i+1:])
		}
	}
	return ""
}
