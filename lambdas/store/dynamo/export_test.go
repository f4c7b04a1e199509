package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/skyport-gw/skyport/lambdas/store"
)

// NewLogByKey is New reading ranges of at most n revisions of the change
// log by key, wider ones by a Query.
func NewLogByKey(client *dynamodb.Client, table string, n int) *Store {
	s := New(client, table)
	s.logByKey = n
	return s
}

// LogRevisions lists the revisions whose change-log entries a read of
// (from, to] hands on, in the order it hands them.
func (s *Store) LogRevisions(ctx context.Context, from, to int64) ([]int64, error) {
	var revs []int64
	err := s.eachLogEntry(ctx, from, to, func(rev int64, _ store.LogEntry) error {
		revs = append(revs, rev)
		return nil
	})
	return revs, err
}

// SetPause replaces the wait before a retry.
func (s *Store) SetPause(fn func(ctx context.Context, attempt int) error) { s.pause = fn }
