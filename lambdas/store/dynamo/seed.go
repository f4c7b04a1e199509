package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/skyport-gw/skyport/lambdas/store"
)

// SeedStaged makes the staged generation gen (Stage) current as the
// table's first revision with plain puts (BatchWriteItem) where
// CommitStaged uses a transaction: the change record and the change-log
// entry of a replacement, then the revision item. It is for seeding an
// empty table nothing else writes, in benchmarks on the emulator, whose
// transactions copy the whole table; without the revision condition of
// a transaction it must never race a writer. A table that holds a
// revision already is refused.
func (s *Store) SeedStaged(ctx context.Context, gen string, summary []string, o store.Origin) (int64, error) {
	st, err := s.state(ctx)
	if err != nil {
		return 0, err
	}
	if st.exists {
		return 0, errors.New("seeding: the table holds revision " + strconv.FormatInt(st.rev, 10) + " already")
	}
	const rev = 1
	var log store.LogBuilder
	log.Replace()
	change, entry, err := revisionRecords(rev, summary, o, log.Entry(), time.Now())
	if err != nil {
		return 0, err
	}
	revision := key(revisionKey, revisionKey)
	revision[attrRevision] = num(rev)
	revision[attrGen] = str(gen)
	for _, items := range [][]item{{change, entry}, {revision}} {
		reqs := make([]types.WriteRequest, 0, len(items))
		for _, it := range items {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		if err := s.batchWrite(ctx, reqs); err != nil {
			return 0, fmt.Errorf("seeding revision %d: %w", rev, err)
		}
	}
	return rev, nil
}
