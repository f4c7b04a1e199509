package eventsource

import (
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Convert turns a stream record read through the DynamoDB Streams API
// into the record Lambda delivers, with eventSourceARN set to the stream.
func Convert(r types.Record, streamARN string) events.DynamoDBEventRecord {
	out := events.DynamoDBEventRecord{
		AWSRegion:      aws.ToString(r.AwsRegion),
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    aws.ToString(r.EventSource),
		EventVersion:   aws.ToString(r.EventVersion),
		EventSourceArn: streamARN,
	}
	if out.EventSource == "" {
		out.EventSource = "aws:dynamodb"
	}
	if id := r.UserIdentity; id != nil {
		out.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(id.Type), PrincipalID: aws.ToString(id.PrincipalId)}
	}
	if s := r.Dynamodb; s != nil {
		out.Change = events.DynamoDBStreamRecord{
			Keys:           convertMap(s.Keys),
			NewImage:       convertMap(s.NewImage),
			OldImage:       convertMap(s.OldImage),
			SequenceNumber: aws.ToString(s.SequenceNumber),
			SizeBytes:      aws.ToInt64(s.SizeBytes),
			StreamViewType: string(s.StreamViewType),
		}
		if t := s.ApproximateCreationDateTime; t != nil {
			out.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: t.Truncate(time.Second)}
		}
	}
	return out
}

func convertMap(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = convertValue(v)
	}
	return out
}

func convertValue(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(convertMap(v.Value))
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = convertValue(e)
		}
		return events.NewListAttribute(l)
	}
	return events.NewNullAttribute()
}

// Filter selects the records a mapping delivers, like the mapping's
// filter criteria.
type Filter func(events.DynamoDBEventRecord) bool

// RevisionFilter is the filter of the publisher's mapping,
// {"dynamodb":{"Keys":{"pk":{"S":["REVISION"]}}}}: only changes of the
// revision item.
func RevisionFilter(r events.DynamoDBEventRecord) bool {
	return keyEquals(r, "pk", "REVISION")
}

// keyEquals reports whether the record's key attribute name is the
// string want.
func keyEquals(r events.DynamoDBEventRecord, name, want string) bool {
	v, ok := r.Change.Keys[name]
	return ok && v.DataType() == events.DataTypeString && v.String() == want
}
