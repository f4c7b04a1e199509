package eventsource

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// ErrHandlerPanic reports a handler that panicked; the batch is retried
// as for any function error.
var ErrHandlerPanic = errors.New("stream handler panicked")

// deliver calls the handler with batch until it succeeds, retrying from
// the first failed record on a partial failure and the whole batch on an
// error, at most MaxRetries times; then the rest is dropped and logged.
// It returns an error only when ctx is done.
func (p *Poller) deliver(ctx context.Context, batch []events.DynamoDBEventRecord) error {
	for attempt := 0; ; attempt++ {
		resp, err := p.call(ctx, batch)
		if err == nil {
			from := firstFailure(batch, resp)
			if from == len(batch) {
				return nil
			}
			batch = batch[from:]
			err = fmt.Errorf("%d records reported failed", len(batch))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt >= p.opts.MaxRetries {
			p.opts.Logger.ErrorContext(ctx, "dropping stream records after retries",
				"stream", p.opts.StreamARN, "records", len(batch),
				"first_sequence_number", batch[0].Change.SequenceNumber, "error", err)
			return nil
		}
		p.opts.Logger.WarnContext(ctx, "retrying stream batch", "attempt", attempt+1, "records", len(batch), "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(p.opts.PollInterval):
		}
	}
}

// call runs the handler, turning a panic into an error.
func (p *Poller) call(ctx context.Context, batch []events.DynamoDBEventRecord) (resp events.DynamoDBEventResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrHandlerPanic, r)
		}
	}()
	return p.opts.Handler(ctx, events.DynamoDBEvent{Records: batch})
}

// firstFailure returns the index of the earliest record the response
// names as failed, or len(batch) when none is. An identifier that matches
// no record fails the whole batch, as Lambda treats it.
func firstFailure(batch []events.DynamoDBEventRecord, resp events.DynamoDBEventResponse) int {
	from := len(batch)
	for _, f := range resp.BatchItemFailures {
		found := false
		for i, r := range batch {
			if r.Change.SequenceNumber == f.ItemIdentifier {
				found = true
				from = min(from, i)
				break
			}
		}
		if !found {
			return 0
		}
	}
	return from
}
