package eventsource_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/eventsource"
)

const streamARN = "arn:aws:dynamodb:us-east-1:123456789012:table/skyport/stream/2026-11-21T05:00:00.000"

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

func TestConvertMatchesLambdaEvent(t *testing.T) {
	t.Parallel()
	at := time.Unix(1795239000, 0)
	rec := types.Record{
		AwsRegion:    aws.String("us-east-1"),
		EventID:      aws.String("c81e728d9d4c2f636f067f89cc14862c"),
		EventName:    types.OperationTypeModify,
		EventSource:  aws.String("aws:dynamodb"),
		EventVersion: aws.String("1.1"),
		Dynamodb: &types.StreamRecord{
			ApproximateCreationDateTime: &at,
			Keys:                        map[string]types.AttributeValue{"pk": s("REVISION"), "sk": s("REVISION")},
			NewImage:                    map[string]types.AttributeValue{"pk": s("REVISION"), "sk": s("REVISION"), "revision": n("42"), "updated_at": n("1795239000")},
			OldImage:                    map[string]types.AttributeValue{"pk": s("REVISION"), "sk": s("REVISION"), "revision": n("41"), "updated_at": n("1795238990")},
			SequenceNumber:              aws.String("4200000000021212121212"),
			SizeBytes:                   aws.Int64(112),
			StreamViewType:              types.StreamViewTypeNewAndOldImages,
		},
	}
	got, err := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{eventsource.Convert(rec, streamARN)}})
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/revision_event.json")
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))

	// And the real event decodes to what Convert builds.
	var ev events.DynamoDBEvent
	require.NoError(t, json.Unmarshal(want, &ev))
	require.True(t, eventsource.RevisionFilter(ev.Records[0]))
	require.Equal(t, "42", ev.Records[0].Change.NewImage["revision"].Number())
}

func TestConvertNestedValues(t *testing.T) {
	t.Parallel()
	rec := types.Record{Dynamodb: &types.StreamRecord{NewImage: map[string]types.AttributeValue{
		"m":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"a": s("x")}},
		"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{n("1"), &types.AttributeValueMemberBOOL{Value: true}}},
		"ss":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"b":    &types.AttributeValueMemberB{Value: []byte{1, 2}},
		"null": &types.AttributeValueMemberNULL{Value: true},
	}}}
	img := eventsource.Convert(rec, streamARN).Change.NewImage
	require.Equal(t, "x", img["m"].Map()["a"].String())
	require.Equal(t, "1", img["l"].List()[0].Number())
	require.True(t, img["l"].List()[1].Boolean())
	require.Equal(t, []string{"a", "b"}, img["ss"].StringSet())
	require.Equal(t, []byte{1, 2}, img["b"].Binary())
	require.True(t, img["null"].IsNull())
}

func TestRevisionFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		keys map[string]events.DynamoDBAttributeValue
		want bool
	}{
		{desc: "revision item", keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("REVISION"), "sk": events.NewStringAttribute("REVISION")}, want: true},
		{desc: "entity item", keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("services"), "sk": events.NewStringAttribute("x")}},
		{desc: "number key", keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewNumberAttribute("1")}},
		{desc: "no keys"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec := events.DynamoDBEventRecord{Change: events.DynamoDBStreamRecord{Keys: tt.keys}}
			require.Equal(t, tt.want, eventsource.RevisionFilter(rec))
		})
	}
}
