// Package eventsource emulates Lambda's event-source mapping for a
// DynamoDB stream: it reads the stream through the DynamoDB Streams API,
// filters and batches the records into events.DynamoDBEvent values, calls
// a handler, and retries from the first failed record
// (ReportBatchItemFailures) a bounded number of times. `skyport local
// --backend aws` and the tests use it where AWS would run the mapping.
package eventsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Handler is a Lambda handler for stream events.
type Handler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// StreamsAPI is the part of the DynamoDB Streams client the poller uses.
type StreamsAPI interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// Defaults of Options.
const (
	DefaultBatchSize    = 100
	DefaultPollInterval = time.Second
	DefaultMaxRetries   = 3
)

// Options configures a Poller.
type Options struct {
	// Client reads the stream. Required.
	Client StreamsAPI
	// StreamARN is the table's stream. Required.
	StreamARN string
	// Handler receives the batches. Required.
	Handler Handler
	// Filter selects records; nil delivers every record.
	Filter Filter
	// BatchSize is the most records one GetRecords call (and so one
	// batch) holds; DefaultBatchSize when 0.
	BatchSize int32
	// PollInterval is the pause after a pass that found nothing, and
	// between retries of a failing batch; DefaultPollInterval when 0.
	PollInterval time.Duration
	// MaxRetries bounds the retries of a failing batch, after which it
	// is dropped and logged (where AWS would send it to the on-failure
	// destination); DefaultMaxRetries when 0, none when negative.
	MaxRetries int
	// StartingPosition is TRIM_HORIZON (default) or LATEST, for the
	// shards open when the poller starts.
	StartingPosition types.ShardIteratorType
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// shard is the poller's position in one shard.
type shard struct {
	iterator string
	// lastSeq is the last sequence number delivered (or dropped).
	lastSeq string
	closed  bool
}

// Poller reads one stream. Poll and Run must not be called concurrently.
type Poller struct {
	opts    Options
	shards  map[string]*shard
	order   []string
	started bool
}

// New returns a Poller; it fills the options' defaults.
func New(opts Options) *Poller {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.StartingPosition == "" {
		opts.StartingPosition = types.ShardIteratorTypeTrimHorizon
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Poller{opts: opts, shards: map[string]*shard{}}
}

// Run polls until ctx is done; errors of a pass are logged and the next
// pass retries. It returns ctx's error.
func (p *Poller) Run(ctx context.Context) error {
	for {
		n, err := p.Poll(ctx)
		if err != nil && ctx.Err() == nil {
			p.opts.Logger.WarnContext(ctx, "polling stream", "stream", p.opts.StreamARN, "error", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(p.opts.PollInterval):
		}
	}
}

// Poll makes one pass: it discovers shards, reads one page of records
// from each open shard and delivers it. It returns how many records
// were read (delivered or filtered out).
func (p *Poller) Poll(ctx context.Context) (int, error) {
	if err := p.discover(ctx); err != nil {
		return 0, err
	}
	total := 0
	for _, id := range p.order {
		s := p.shards[id]
		if s.closed {
			continue
		}
		n, err := p.pollShard(ctx, id, s)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// discover lists the stream's shards and positions new ones: shards open
// at the first pass start at StartingPosition, later ones at their start.
func (p *Poller) discover(ctx context.Context) error {
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: &p.opts.StreamARN}
	for {
		out, err := p.opts.Client.DescribeStream(ctx, in)
		if err != nil {
			return fmt.Errorf("describing stream: %w", err)
		}
		for _, sh := range out.StreamDescription.Shards {
			id := aws.ToString(sh.ShardId)
			if _, ok := p.shards[id]; ok {
				continue
			}
			pos := types.ShardIteratorTypeTrimHorizon
			if !p.started {
				pos = p.opts.StartingPosition
			}
			it, err := p.iterator(ctx, id, pos, "")
			if err != nil {
				return err
			}
			p.shards[id] = &shard{iterator: it}
			p.order = append(p.order, id)
		}
		last := out.StreamDescription.LastEvaluatedShardId
		if last == nil {
			break
		}
		in.ExclusiveStartShardId = last
	}
	p.started = true
	return nil
}

func (p *Poller) iterator(ctx context.Context, shardID string, typ types.ShardIteratorType, seq string) (string, error) {
	in := &dynamodbstreams.GetShardIteratorInput{
		StreamArn: &p.opts.StreamARN, ShardId: &shardID, ShardIteratorType: typ,
	}
	if seq != "" {
		in.SequenceNumber = &seq
	}
	out, err := p.opts.Client.GetShardIterator(ctx, in)
	if err != nil {
		return "", fmt.Errorf("getting iterator of shard %s: %w", shardID, err)
	}
	return aws.ToString(out.ShardIterator), nil
}

// pollShard reads one page of a shard and delivers it; an expired
// iterator is renewed after the last delivered record.
func (p *Poller) pollShard(ctx context.Context, id string, s *shard) (int, error) {
	out, err := p.opts.Client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: &s.iterator, Limit: &p.opts.BatchSize})
	var expired *types.ExpiredIteratorException
	if errors.As(err, &expired) {
		typ, seq := types.ShardIteratorTypeAfterSequenceNumber, s.lastSeq
		if seq == "" {
			typ = types.ShardIteratorTypeTrimHorizon
		}
		if s.iterator, err = p.iterator(ctx, id, typ, seq); err != nil {
			return 0, err
		}
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading shard %s: %w", id, err)
	}
	batch := make([]events.DynamoDBEventRecord, 0, len(out.Records))
	for _, r := range out.Records {
		rec := Convert(r, p.opts.StreamARN)
		if p.opts.Filter == nil || p.opts.Filter(rec) {
			batch = append(batch, rec)
		}
	}
	if len(batch) > 0 {
		if err := p.deliver(ctx, batch); err != nil {
			return 0, err
		}
	}
	if n := len(out.Records); n > 0 {
		s.lastSeq = aws.ToString(out.Records[n-1].Dynamodb.SequenceNumber)
	}
	if out.NextShardIterator == nil {
		s.closed = true
	} else {
		s.iterator = *out.NextShardIterator
	}
	return len(out.Records), nil
}
