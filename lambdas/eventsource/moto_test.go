package eventsource_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/lambdas/eventsource"
)

func createStreamTable(ctx context.Context, t *testing.T, ddb *dynamodb.Client, table string) {
	t.Helper()
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []dtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: dtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: dtypes.ScalarAttributeTypeS},
		},
		KeySchema: []dtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: dtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: dtypes.KeyTypeRange},
		},
		BillingMode: dtypes.BillingModePayPerRequest,
		StreamSpecification: &dtypes.StreamSpecification{
			StreamEnabled: aws.Bool(true), StreamViewType: dtypes.StreamViewTypeNewAndOldImages,
		},
	})
	require.NoError(t, err)
}

func putItem(ctx context.Context, t *testing.T, ddb *dynamodb.Client, table, pk, sk string, rev int) {
	t.Helper()
	_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]dtypes.AttributeValue{
		"pk":       &dtypes.AttributeValueMemberS{Value: pk},
		"sk":       &dtypes.AttributeValueMemberS{Value: sk},
		"revision": &dtypes.AttributeValueMemberN{Value: strconv.Itoa(rev)},
	}})
	require.NoError(t, err)
}

// TestRunOnEmulator reads a real stream through the DynamoDB Streams API.
func TestRunOnEmulator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := motoserver.Start(t)
	ddb := dynamodb.NewFromConfig(srv.Config())
	createStreamTable(ctx, t, ddb, "cp")
	arn, err := eventsource.LatestStreamARN(ctx, ddb, "cp")
	require.NoError(t, err)

	putItem(ctx, t, ddb, "cp", "REVISION", "REVISION", 1)
	putItem(ctx, t, ddb, "cp", "G#0#E#services", "svc-1", 1)
	putItem(ctx, t, ddb, "cp", "REVISION", "REVISION", 2)

	got := make(chan events.DynamoDBEventRecord, 16)
	p := eventsource.New(eventsource.Options{
		Client: dynamodbstreams.NewFromConfig(srv.Config()), StreamARN: arn,
		Filter: eventsource.RevisionFilter, PollInterval: 10 * time.Millisecond, Logger: quiet(),
		Handler: func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			for _, r := range ev.Records {
				got <- r
			}
			return events.DynamoDBEventResponse{}, nil
		},
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	defer func() {
		stop()
		require.ErrorIs(t, <-done, context.Canceled)
	}()

	next := func() events.DynamoDBEventRecord {
		t.Helper()
		select {
		case r := <-got:
			return r
		case <-ctx.Done():
			t.Fatal("no record delivered")
			return events.DynamoDBEventRecord{}
		}
	}
	first := next()
	require.Equal(t, "INSERT", first.EventName)
	require.Equal(t, arn, first.EventSourceArn)
	require.Equal(t, "1", first.Change.NewImage["revision"].Number())
	second := next()
	require.Equal(t, "MODIFY", second.EventName)
	require.Equal(t, "2", second.Change.NewImage["revision"].Number())
	require.Equal(t, "1", second.Change.OldImage["revision"].Number())

	// A write after the poller caught up arrives too, and only once.
	putItem(ctx, t, ddb, "cp", "REVISION", "REVISION", 3)
	require.Equal(t, "3", next().Change.NewImage["revision"].Number())
	select {
	case r := <-got:
		t.Fatalf("unexpected record %s", r.Change.SequenceNumber)
	case <-time.After(100 * time.Millisecond):
	}
}
