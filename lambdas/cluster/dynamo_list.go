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
	var nodes []Node
	for len(nodes) <= size {
		out, err := d.client.Query(ctx, in)
		if err != nil {
			return DataPlanePage{}, fmt.Errorf("listing data planes: %w", err)
		}
		var items []nodeItem
		if err := attributevalue.UnmarshalListOfMapsWithOptions(out.Items, &items, jsonTagsDecode); err != nil {
			return DataPlanePage{}, fmt.Errorf("decoding data plane rows: %w", err)
		}
		for _, it := range items {
			if live(it.ExpiresAt, now) {
				nodes = append(nodes, it.Node)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	page := DataPlanePage{Data: make([]DataPlane, 0, min(size, len(nodes)))}
	if len(nodes) > size {
		nodes = nodes[:size]
		page.Next = encodeOffset(nodes[size-1].NodeID)
	}
	for _, n := range nodes {
		page.Data = append(page.Data, dataPlane(n, now))
	}
	return page, nil
}
