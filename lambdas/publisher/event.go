package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// HandleEvent is the Lambda handler for the store's stream. The records
// are a trigger: any number of them makes one publication of the newest
// revision. It answers with ReportBatchItemFailures: when publication
// fails, the first record (the event-source mapping retries the whole
// batch); when the published revision is older than a record's (the
// export read the table before that commit was visible), the first such
// record, so the records it covers are not retried. A duplicate or late
// delivery publishes nothing new.
func (p *Publisher) HandleEvent(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	if len(ev.Records) == 0 {
		return events.DynamoDBEventResponse{}, nil
	}
	ptr, handled, err := p.publishNewest(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down (or out of time): the batch is retried.
		p.opts.Logger.InfoContext(ctx, "publishing interrupted", "records", len(ev.Records), "error", err)
		return failedFrom(ev.Records[0]), nil
	case err != nil:
		p.opts.Logger.ErrorContext(ctx, "publishing", "records", len(ev.Records), "error", err)
		return failedFrom(ev.Records[0]), nil
	}
	for _, r := range ev.Records {
		if rev, ok := recordRevision(r); ok && rev > handled {
			p.opts.Logger.WarnContext(ctx, "a record's revision is not published yet", "record_revision", rev, "published", ptr.Revision)
			return failedFrom(r), nil
		}
	}
	return events.DynamoDBEventResponse{}, nil
}

func failedFrom(r events.DynamoDBEventRecord) events.DynamoDBEventResponse {
	return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{
		{ItemIdentifier: r.Change.SequenceNumber},
	}}
}

// recordRevision reads the revision a revision-item record carries.
func recordRevision(r events.DynamoDBEventRecord) (int64, bool) {
	v, ok := r.Change.NewImage["revision"]
	if !ok || v.DataType() != events.DataTypeNumber {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Number(), 10, 64)
	return n, err == nil
}

// scheduled is the part of an EventBridge scheduled event HandleInvoke
// reads.
type scheduled struct {
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
}

// HandleInvoke is the publisher Lambda's handler: an EventBridge
// scheduled event (the stack's rule, every minute) steps the staged
// rollout (Reconcile); anything else is the store's stream (HandleEvent).
func (p *Publisher) HandleInvoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var s scheduled
	if json.Unmarshal(raw, &s) == nil && s.Source == "aws.events" && s.DetailType == "Scheduled Event" {
		if err := p.Reconcile(ctx); err != nil {
			p.opts.Logger.ErrorContext(ctx, "stepping the rollout", "error", err)
		}
		return nil, nil
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decoding the event: %w", err)
	}
	return p.HandleEvent(ctx, ev)
}
