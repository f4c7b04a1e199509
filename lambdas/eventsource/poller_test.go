package eventsource_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/eventsource"
)

// stream is a one-shard stream in memory. Iterators are "at:<index>";
// expire makes the next GetRecords answer ExpiredIteratorException.
type stream struct {
	mu      sync.Mutex
	records []types.Record
	expire  bool
}

func (st *stream) add(pk string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	seq := strconv.Itoa(1000 + len(st.records))
	st.records = append(st.records, types.Record{
		EventName: types.OperationTypeModify,
		Dynamodb: &types.StreamRecord{
			Keys:           map[string]types.AttributeValue{"pk": s(pk), "sk": s(pk)},
			SequenceNumber: aws.String(seq),
		},
	})
	return seq
}

func (st *stream) DescribeStream(_ context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &types.StreamDescription{
		StreamArn: in.StreamArn,
		Shards:    []types.Shard{{ShardId: aws.String("shard-1")}},
	}}, nil
}

func (st *stream) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	pos := 0
	switch in.ShardIteratorType {
	case types.ShardIteratorTypeLatest:
		pos = len(st.records)
	case types.ShardIteratorTypeAfterSequenceNumber:
		seq, err := strconv.Atoi(aws.ToString(in.SequenceNumber))
		if err != nil {
			return nil, err
		}
		pos = seq - 1000 + 1
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprintf("at:%d", pos))}, nil
}

func (st *stream) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.expire {
		st.expire = false
		return nil, &types.ExpiredIteratorException{Message: aws.String("expired")}
	}
	pos, err := strconv.Atoi(strings.TrimPrefix(aws.ToString(in.ShardIterator), "at:"))
	if err != nil {
		return nil, err
	}
	end := min(len(st.records), pos+int(aws.ToInt32(in.Limit)))
	return &dynamodbstreams.GetRecordsOutput{
		Records:           append([]types.Record(nil), st.records[pos:end]...),
		NextShardIterator: aws.String(fmt.Sprintf("at:%d", end)),
	}, nil
}

// calls records what the handler received, as sequence numbers.
type calls struct {
	mu      sync.Mutex
	batches [][]string
}

func (c *calls) record(ev events.DynamoDBEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var seqs []string
	for _, r := range ev.Records {
		seqs = append(seqs, r.Change.SequenceNumber)
	}
	c.batches = append(c.batches, seqs)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestPollerDelivers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &stream{}
	r1 := st.add("REVISION")
	st.add("services")
	r2 := st.add("REVISION")

	failOnce := map[string]bool{r2: true}
	var got calls
	p := eventsource.New(eventsource.Options{
		Client: st, StreamARN: streamARN, Filter: eventsource.RevisionFilter, Logger: quiet(), PollInterval: 1,
		Handler: func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			got.record(ev)
			for _, r := range ev.Records {
				require.Equal(t, streamARN, r.EventSourceArn)
				if failOnce[r.Change.SequenceNumber] {
					delete(failOnce, r.Change.SequenceNumber)
					return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: r.Change.SequenceNumber}}}, nil
				}
			}
			return events.DynamoDBEventResponse{}, nil
		},
	})
	n, err := p.Poll(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, [][]string{{r1, r2}, {r2}}, got.batches, "filtered, then retried from the failed record")

	n, err = p.Poll(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, got.batches, 2, "nothing is delivered twice")

	r3 := st.add("REVISION")
	st.expire = true
	_, err = p.Poll(ctx)
	require.NoError(t, err)
	_, err = p.Poll(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{r3}, got.batches[2], "an expired iterator resumes after the last record")
}

func TestPollerBoundedRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		handler eventsource.Handler
	}{
		{desc: "function error", handler: func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			return events.DynamoDBEventResponse{}, errors.New("boom")
		}},
		{desc: "panic", handler: func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			panic("boom")
		}},
		{desc: "unknown failure id", handler: func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: "nope"}}}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			st := &stream{}
			st.add("REVISION")
			var got calls
			p := eventsource.New(eventsource.Options{
				Client: st, StreamARN: streamARN, MaxRetries: 2, PollInterval: 1, Logger: quiet(),
				Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
					got.record(ev)
					return tt.handler(ctx, ev)
				},
			})
			_, err := p.Poll(context.Background())
			require.NoError(t, err)
			require.Len(t, got.batches, 3, "one call and two retries, then the batch is dropped")
			_, err = p.Poll(context.Background())
			require.NoError(t, err)
			require.Len(t, got.batches, 3, "a dropped batch is not delivered again")
		})
	}
}

func TestPollerLatest(t *testing.T) {
	t.Parallel()
	st := &stream{}
	st.add("REVISION")
	var got calls
	p := eventsource.New(eventsource.Options{
		Client: st, StreamARN: streamARN, StartingPosition: types.ShardIteratorTypeLatest, Logger: quiet(),
		Handler: func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			got.record(ev)
			return events.DynamoDBEventResponse{}, nil
		},
	})
	_, err := p.Poll(context.Background())
	require.NoError(t, err)
	require.Empty(t, got.batches, "records before the start are skipped")
	seq := st.add("REVISION")
	_, err = p.Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, [][]string{{seq}}, got.batches)
}

func TestRunStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	st := &stream{}
	st.add("REVISION")
	p := eventsource.New(eventsource.Options{
		Client: st, StreamARN: streamARN, Logger: quiet(), PollInterval: 1,
		Handler: func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			cancel()
			return events.DynamoDBEventResponse{}, nil
		},
	})
	require.ErrorIs(t, p.Run(ctx), context.Canceled)
}
