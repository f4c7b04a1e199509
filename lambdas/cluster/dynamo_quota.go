package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// createNode writes a new row (over none, or over an expired one) and
// raises its owner's counter in one transaction; at the limit, it
// recounts and reclaims a stale row, then asks for a retry.
func (d *Dynamo) createNode(ctx context.Context, nodeID, owner string, fn func(*Node), now time.Time) error {
	n := Node{}
	fn(&n)
	n.NodeID, n.Owner, n.Seq = nodeID, owner, 1
	av, err := attributevalue.MarshalMapWithOptions(nodeItem{PK: pkNode, SK: nodeID, Node: n}, jsonTags)
	if err != nil {
		return fmt.Errorf("encoding cluster row: %w", err)
	}
	_, err = d.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: &d.table, Item: av,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR (#exp > :zero AND #exp <= :now)"),
			ExpressionAttributeNames:  map[string]string{"#exp": TTLAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":now": num(now.Unix())},
		}},
		{Update: &types.Update{
			TableName: &d.table, Key: quotaKey(owner),
			UpdateExpression:          aws.String("SET #n = if_not_exists(#n, :zero) + :one"),
			ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n < :limit"),
			ExpressionAttributeNames:  map[string]string{"#n": "n"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":one": num(1), ":limit": num(int64(d.limits.nodes))},
		}},
	}})
	if err == nil {
		return nil
	}
	var canceled *types.TransactionCanceledException
	var conflict *types.TransactionConflictException
	switch {
	case errors.As(err, &canceled):
		// Another writer created the row first: update it instead. Only
		// the counter failing means the owner is at its limit.
		r := canceled.CancellationReasons
		if len(r) == 2 && aws.ToString(r[0].Code) != "ConditionalCheckFailed" && aws.ToString(r[1].Code) == "ConditionalCheckFailed" {
			if err := d.reclaim(ctx, owner, now); err != nil {
				return err
			}
		}
		return errRetry
	case errors.As(err, &conflict):
		return errRetry
	}
	return fmt.Errorf("creating data plane row: %w", err)
}

// ownedRow is what a recount reads of a data-plane row.
type ownedRow struct {
	SK        string `json:"sk"`
	LastSeen  int64  `json:"last_seen"`
	ExpiresAt int64  `json:"expires_at"`
	Seq       int64  `json:"seq"`
}

// reclaim recounts owner's live rows and resets its counter to the count;
// when the count is at the limit, it deletes the row seen least recently
// if that row is stale, and returns ErrNodeLimit otherwise. Each write is
// conditional on the counter read first, so a concurrent creation makes it
// a no-op and the caller's retry counts again.
func (d *Dynamo) reclaim(ctx context.Context, owner string, now time.Time) error {
	var q struct {
		N *int64 `json:"n"`
	}
	if err := d.get(ctx, pkQuota, "OWNER#"+owner, &q); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	rows, err := d.ownedRows(ctx, owner)
	if err != nil {
		return err
	}
	count, stalest := 0, -1
	for i, r := range rows {
		if live(r.ExpiresAt, now) {
			count++
			if stalest < 0 || r.LastSeen < rows[stalest].LastSeen {
				stalest = i
			}
		}
	}
	cond, vals := "attribute_not_exists(#n)", map[string]types.AttributeValue{}
	if q.N != nil {
		cond, vals[":old"] = "#n = :old", num(*q.N)
	}
	if count < d.limits.nodes {
		vals[":count"] = num(int64(count))
		_, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &d.table, Key: quotaKey(owner), UpdateExpression: aws.String("SET #n = :count"),
			ConditionExpression: aws.String(cond), ExpressionAttributeNames: map[string]string{"#n": "n"},
			ExpressionAttributeValues: vals,
		})
		var failed *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &failed) {
			return fmt.Errorf("recounting data planes: %w", err)
		}
		return nil
	}
	if !d.limits.stale(rows[stalest].LastSeen, now) {
		return ErrNodeLimit
	}
	vals[":count"] = num(int64(count - 1))
	seqCond, seqVals := seqCondition(rows[stalest].Seq)
	_, err = d.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: &d.table, Key: key(pkNode, rows[stalest].SK), ConditionExpression: aws.String(seqCond),
			ExpressionAttributeNames: map[string]string{"#seq": "seq"}, ExpressionAttributeValues: seqVals,
		}},
		{Update: &types.Update{
			TableName: &d.table, Key: quotaKey(owner), UpdateExpression: aws.String("SET #n = :count"),
			ConditionExpression: aws.String(cond), ExpressionAttributeNames: map[string]string{"#n": "n"},
			ExpressionAttributeValues: vals,
		}},
	}})
	var canceled *types.TransactionCanceledException
	var conflict *types.TransactionConflictException
	if err != nil && !errors.As(err, &canceled) && !errors.As(err, &conflict) {
		return fmt.Errorf("reclaiming a stale data plane row: %w", err)
	}
	return nil
}

// ownedRows reads the data-plane rows owner created, all pages.
func (d *Dynamo) ownedRows(ctx context.Context, owner string) ([]ownedRow, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &d.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ProjectionExpression:      aws.String("sk, last_seen, #exp, #seq"),
		ExpressionAttributeNames:  map[string]string{"#exp": TTLAttribute, "#seq": "seq", "#owner": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pkNode)},
		ConsistentRead:            aws.Bool(true),
	}
	if owner == "" {
		in.FilterExpression = aws.String("attribute_not_exists(#owner)")
	} else {
		in.FilterExpression = aws.String("#owner = :owner")
		in.ExpressionAttributeValues[":owner"] = str(owner)
	}
	var rows []ownedRow
	for p := dynamodb.NewQueryPaginator(d.client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("counting data planes: %w", err)
		}
		var part []ownedRow
		if err := attributevalue.UnmarshalListOfMapsWithOptions(page.Items, &part, jsonTagsDecode); err != nil {
			return nil, fmt.Errorf("decoding data plane rows: %w", err)
		}
		rows = append(rows, part...)
	}
	return rows, nil
}
