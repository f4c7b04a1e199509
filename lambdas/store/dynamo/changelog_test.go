package dynamo_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// logReaders are the ways a store reads a range of the change log: by
// key (the range within its limit), by Query (beyond it), and by key up
// to 50 revisions, so a range crosses from one to the other.
func logReaders(client *dynamodb.Client, table string) map[string]*dynamo.Store {
	return map[string]*dynamo.Store{
		"by key":           dynamo.NewLogByKey(client, table, 1000),
		"by query":         dynamo.NewLogByKey(client, table, 0),
		"by key up to 50":  dynamo.NewLogByKey(client, table, 50),
		"the default read": dynamo.New(client, table),
	}
}

// putLog writes the change-log entries of revs as a commit would (the
// layout's pk "LOG", the 20-digit revision, the entry, its expiry), each
// naming one consumer.
func putLog(t *testing.T, client *dynamodb.Client, table string, expires time.Time, revs ...int64) {
	t.Helper()
	for len(revs) > 0 {
		n := min(len(revs), 25)
		var reqs []types.WriteRequest
		for _, rev := range revs[:n] {
			data, err := store.EncodeLogEntry(store.LogEntry{Upserts: []store.EntityRef{{Kind: model.KindConsumer, ID: "c" + strconv.FormatInt(rev, 10)}}})
			require.NoError(t, err)
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
				"pk":         &types.AttributeValueMemberS{Value: "LOG"},
				"sk":         &types.AttributeValueMemberS{Value: fmt.Sprintf("%020d", rev)},
				"data":       &types.AttributeValueMemberS{Value: string(data)},
				"expires_at": &types.AttributeValueMemberN{Value: strconv.FormatInt(expires.Unix(), 10)},
			}}})
		}
		out, err := client.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
		require.NoError(t, err)
		require.Empty(t, out.UnprocessedItems)
		revs = revs[n:]
	}
}

// removeLog deletes revision rev's change-log entry, as its TTL does.
func removeLog(t *testing.T, client *dynamodb.Client, table string, rev int64) {
	t.Helper()
	_, err := client.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "LOG"},
		"sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("%020d", rev)},
	}})
	require.NoError(t, err)
}

func revRange(from, to int64) []int64 {
	var out []int64
	for rev := from + 1; rev <= to; rev++ {
		out = append(out, rev)
	}
	return out
}

// TestLogRead: a read of the change log over (from, to] hands on the
// entry of every revision of the range once, in order, and nothing after
// to (entries committed while it reads), by key and by Query alike, across
// BatchGetItem's 100 keys a call; a missing entry, where the range starts,
// ends or in between, is ErrLogGap; an entry past its expiry that TTL has
// not removed yet is still read, as DynamoDB serves it.
func TestLogRead(t *testing.T) {
	ctx := context.Background()
	client := emulator(t)
	table := newTable(t, client)
	now := time.Now()
	putLog(t, client, table, now.Add(dynamo.LogTTL), revRange(0, 233)...)
	putLog(t, client, table, now.Add(-time.Hour), 7) // expired, not yet removed

	ranges := [][2]int64{{0, 0}, {5, 5}, {0, 1}, {0, 230}, {99, 201}, {100, 200}, {229, 230}, {6, 8}, {150, 233}}
	for name, s := range logReaders(client, table) {
		t.Run(name, func(t *testing.T) {
			for _, r := range ranges {
				revs, err := s.LogRevisions(ctx, r[0], r[1])
				require.NoError(t, err, "range (%d, %d]", r[0], r[1])
				require.Equal(t, revRange(r[0], r[1]), revs, "range (%d, %d]", r[0], r[1])
			}
		})
	}

	for _, rev := range []int64{101, 150, 200} {
		removeLog(t, client, table, rev)
	}
	gaps := []struct {
		from, to, missing int64
	}{
		{100, 200, 101}, // the range's first entry
		{101, 200, 150}, // one in between
		{150, 230, 200},
		{190, 200, 200}, // the range's last entry
		{0, 233, 101},
	}
	for name, s := range logReaders(client, table) {
		t.Run(name+" with gaps", func(t *testing.T) {
			for _, g := range gaps {
				_, err := s.LogRevisions(ctx, g.from, g.to)
				require.ErrorIs(t, err, store.ErrLogGap, "range (%d, %d]", g.from, g.to)
				require.ErrorContains(t, err, fmt.Sprintf("no change-log entry for revision %d", g.missing), "range (%d, %d]", g.from, g.to)
			}
			for _, r := range [][2]int64{{0, 100}, {101, 149}, {150, 199}, {200, 233}} {
				revs, err := s.LogRevisions(ctx, r[0], r[1])
				require.NoError(t, err, "range (%d, %d]", r[0], r[1])
				require.Equal(t, revRange(r[0], r[1]), revs, "range (%d, %d]", r[0], r[1])
			}
		})
	}
}

// TestChangedSinceCommitWhileReading: a write committed while
// ChangedSince reads the log (just before its first read of the log)
// is in the change set it returns, at the revision it committed, and the
// log is read by key unless the range is too wide.
func TestChangedSinceCommitWhileReading(t *testing.T) {
	ctx := context.Background()
	srv := motoserver.Start(t)
	for name, c := range map[string]struct {
		byKey int
		op    string
	}{
		"by key":   {1000, "BatchGetItem"},
		"by query": {0, "Query"},
	} {
		t.Run(name, func(t *testing.T) {
			writerClient := dynamodb.NewFromConfig(srv.SerialConfig())
			table := newTable(t, writerClient)
			w := dynamo.New(writerClient, table)
			svc := model.NewService()
			svc.ID, svc.Name, svc.Host = "3f0c8a52-7e1d-4c6b-9a2f-5d8e1b4c7a90", model.String("a"), "a.internal"
			base, err := w.Create(ctx, svc, store.Origin{})
			require.NoError(t, err)
			first := &model.Consumer{Base: model.Base{ID: "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"}, Username: model.String("first")}
			_, err = w.Create(ctx, first, store.Origin{})
			require.NoError(t, err)

			late := &model.Consumer{Base: model.Base{ID: "d1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"}, Username: model.String("late")}
			var lateRev int64
			var once sync.Once
			reader := clientWith(srv, "commitWhileReading", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetOperationName(ctx) == c.op {
					once.Do(func() {
						var werr error
						lateRev, werr = w.Create(ctx, late, store.Origin{})
						require.NoError(t, werr)
					})
				}
				return next.HandleInitialize(ctx, in)
			})
			cs, err := dynamo.NewLogByKey(reader, table, c.byKey).ChangedSince(ctx, base)
			require.NoError(t, err)
			require.NotZero(t, lateRev, "no %s was sent", c.op)
			require.Equal(t, lateRev, cs.Revision)
			var names []string
			for _, c := range cs.Upserts.Consumers {
				names = append(names, *c.Username)
			}
			require.ElementsMatch(t, []string{"first", "late"}, names)
			require.Empty(t, cs.Upserts.Services, "the service was written at the base")
		})
	}
}

// TestLogReadRetriesUnprocessedKeys: the keys a BatchGetItem leaves
// unprocessed (DynamoDB does so when a call reads too much or is
// throttled) are read again, not taken for missing entries.
func TestLogReadRetriesUnprocessedKeys(t *testing.T) {
	ctx := context.Background()
	srv := motoserver.Start(t)
	var calls atomic.Int64
	client := clientWith(srv, "leaveUnprocessed", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleInitialize(ctx, in)
		res, ok := out.Result.(*dynamodb.BatchGetItemOutput)
		if err != nil || !ok || calls.Add(1) > 1 {
			return out, md, err
		}
		// The first call answers one item; the others are left unprocessed.
		for table, items := range res.Responses {
			var keys []map[string]types.AttributeValue
			for _, it := range items[1:] {
				keys = append(keys, map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]})
			}
			res.Responses[table] = items[:1]
			res.UnprocessedKeys = map[string]types.KeysAndAttributes{table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		}
		return out, md, err
	})
	table := newTable(t, client)
	putLog(t, client, table, time.Now().Add(dynamo.LogTTL), revRange(0, 40)...)
	revs, err := dynamo.NewLogByKey(client, table, 1000).LogRevisions(ctx, 0, 40)
	require.NoError(t, err)
	require.Equal(t, revRange(0, 40), revs)
	require.Greater(t, calls.Load(), int64(1), "the unprocessed keys were not read again")
}

// TestLogReadGivesUpOnUnprocessedKeys: keys DynamoDB keeps leaving
// unprocessed are retried with backoff a bounded number of times, then
// the read fails with ErrUnprocessed instead of looping forever.
func TestLogReadGivesUpOnUnprocessedKeys(t *testing.T) {
	var calls atomic.Int64
	// A client that never reaches the network: every BatchGetItem
	// answers nothing and leaves every key unprocessed.
	client := dynamodb.New(dynamodb.Options{
		Region:      "us-east-1",
		Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("alwaysUnprocessed",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					req, ok := in.Parameters.(*dynamodb.BatchGetItemInput)
					if !ok {
						return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected call %T", in.Parameters)
					}
					calls.Add(1)
					out := &dynamodb.BatchGetItemOutput{UnprocessedKeys: req.RequestItems}
					return middleware.InitializeOutput{Result: out}, middleware.Metadata{}, nil
				}), middleware.Before)
		}},
	})
	s := dynamo.NewLogByKey(client, "skyport", 1000)
	var pauses []int
	s.SetPause(func(ctx context.Context, attempt int) error {
		pauses = append(pauses, attempt)
		return nil
	})
	_, err := s.LogRevisions(context.Background(), 0, 40)
	require.ErrorIs(t, err, dynamo.ErrUnprocessed)
	require.ErrorContains(t, err, "40 still unprocessed")
	require.Equal(t, int64(len(pauses)+1), calls.Load(), "one pause before each retry")
	require.Less(t, calls.Load(), int64(100))
	for i, a := range pauses {
		require.Equal(t, i+1, a, "the backoff grows with the attempt")
	}
}

// clientWith returns a client of srv whose calls pass through mw, added
// after the SDK's own initialize steps.
func clientWith(srv *motoserver.Server, name string, mw func(context.Context, middleware.InitializeInput, middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error)) *dynamodb.Client {
	return dynamodb.NewFromConfig(srv.SerialConfig(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc(name, mw), middleware.After)
		})
	})
}
