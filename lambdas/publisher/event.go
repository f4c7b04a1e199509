package publisher

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// HandleEvent is the Lambda handler for the store's stream. The records
// are only a trigger: any number of them makes one publication of the
// newest revision. On failure it reports the first record as failed
// (ReportBatchItemFailures), so the event-source mapping retries the whole
// batch; a duplicate or late delivery publishes nothing new.
func (p *Publisher) HandleEvent(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	if len(ev.Records) == 0 {
		return events.DynamoDBEventResponse{}, nil
	}
	if _, err := p.Publish(ctx); err != nil {
		p.opts.Logger.ErrorContext(ctx, "publishing", "records", len(ev.Records), "error", err)
		return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{
			{ItemIdentifier: ev.Records[0].Change.SequenceNumber},
		}}, nil
	}
	return events.DynamoDBEventResponse{}, nil
}
