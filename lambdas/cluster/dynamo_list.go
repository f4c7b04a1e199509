package cluster

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ListDataPlanes implements Registry: pages of the "DP" partition in sk
// order, starting after the offset's node id, with expired rows skipped.
func (d *Dynamo) ListDataPlanes(ctx context.Context, opts ListOptions) (DataPlanePage, error) {
	after, err := decodeOffset(opts.Offset)
	if err != nil {
		return DataPlanePage{}, err
	}
	size := pageSize(opts.Size)
	now := d.clock()
	in := &dynamodb.QueryInput{
		TableName:                 &d.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pkNode)},
		Limit:                     aws.Int32(int32(size + 1)),
		ConsistentRead:            aws.Bool(true),
	}
	if after != "" {
		in.ExclusiveStartKey = key(pkNode, after)
	}
	var rows []DataPlane
	for len(rows) <= size {
		out, err := d.client.Query(ctx, in)
		if err != nil {
			return DataPlanePage{}, fmt.Errorf("listing data planes: %w", err)
		}
		var items []nodeItem
		if err := attributevalue.UnmarshalListOfMapsWithOptions(out.Items, &items, jsonTagsDecode); err != nil {
			return DataPlanePage{}, fmt.Errorf("decoding data plane rows: %w", err)
		}
		for _, it := range items {
			if !live(it.ExpiresAt, now) {
				continue
			}
			if dp := dataPlane(it.Node, now); opts.match(dp) {
				rows = append(rows, dp)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	page := DataPlanePage{Data: rows}
	if page.Data == nil {
		page.Data = []DataPlane{}
	}
	if len(rows) > size {
		page.Data = rows[:size]
		page.Next = encodeOffset(rows[size-1].ID)
	}
	return page, nil
}
