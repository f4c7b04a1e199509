package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// maxAttempts bounds the retries of a conditional write that keeps losing
// races.
const maxAttempts = 8

// errRetry marks a conditional write that lost a race: read again.
var errRetry = errors.New("retry")

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func quotaKey(owner string) map[string]types.AttributeValue { return key(pkQuota, "OWNER#"+owner) }

// BindConnection implements Registry: one conditional update, so two
// hellos racing on one connection cannot both bind it.
func (d *Dynamo) BindConnection(ctx context.Context, c Connection) (Connection, error) {
	names := map[string]string{"#id": "id", "#node": "node_id", "#exp": TTLAttribute, "#at": "connected_at"}
	vals := map[string]types.AttributeValue{":id": str(c.ID), ":n": str(c.NodeID), ":e": num(c.ExpiresAt), ":at": num(c.ConnectedAt)}
	set := "SET #id = :id, #node = :n, #exp = :e, #at = if_not_exists(#at, :at)"
	for attr, v := range map[string]string{"ip": c.IP, "owner": c.Owner} {
		if v != "" {
			names["#"+attr], vals[":"+attr] = attr, str(v)
			set += fmt.Sprintf(", #%s = if_not_exists(#%s, :%s)", attr, attr, attr)
		}
	}
	out, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &d.table,
		Key:                       key(pkConnection, c.ID),
		UpdateExpression:          aws.String(set),
		ConditionExpression:       aws.String("attribute_not_exists(#node) OR #node = :n"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueAllNew,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return Connection{}, ErrNodeMismatch
	case err != nil:
		return Connection{}, fmt.Errorf("binding connection: %w", err)
	}
	var it connItem
	if err := attributevalue.UnmarshalMapWithOptions(out.Attributes, &it, jsonTagsDecode); err != nil {
		return Connection{}, fmt.Errorf("decoding connection row: %w", err)
	}
	return it.Connection, nil
}

// UpdateNode implements Registry: a write conditional on the row's seq,
// or, for a new row, a transaction that also counts it against its
// owner's limit.
func (d *Dynamo) UpdateNode(ctx context.Context, nodeID, owner string, fn func(*Node)) error {
	for range maxAttempts {
		err := d.updateNode(ctx, nodeID, owner, fn)
		if !errors.Is(err, errRetry) {
			return err
		}
	}
	return fmt.Errorf("updating data plane %s: %w", nodeID, ErrConflict)
}

func (d *Dynamo) updateNode(ctx context.Context, nodeID, owner string, fn func(*Node)) error {
	now := d.clock()
	var it nodeItem
	err := d.get(ctx, pkNode, nodeID, &it)
	if errors.Is(err, ErrNotFound) || (err == nil && !live(it.ExpiresAt, now)) {
		return d.createNode(ctx, nodeID, owner, fn, now)
	}
	if err != nil {
		return err
	}
	n := it.Node
	fn(&n)
	n.NodeID, n.Owner, n.Seq = nodeID, it.Owner, it.Seq+1
	av, err := attributevalue.MarshalMapWithOptions(nodeItem{PK: pkNode, SK: nodeID, Node: n}, jsonTags)
	if err != nil {
		return fmt.Errorf("encoding cluster row: %w", err)
	}
	cond, vals := seqCondition(it.Seq)
	_, err = d.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &d.table, Item: av, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: map[string]string{"#seq": "seq"}, ExpressionAttributeValues: vals,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return errRetry
	case err != nil:
		return fmt.Errorf("writing data plane row: %w", err)
	}
	return nil
}

// seqCondition is the condition that a row's seq is still seq.
func seqCondition(seq int64) (string, map[string]types.AttributeValue) {
	if seq == 0 {
		return "attribute_not_exists(#seq)", nil
	}
	return "#seq = :seq", map[string]types.AttributeValue{":seq": num(seq)}
}
