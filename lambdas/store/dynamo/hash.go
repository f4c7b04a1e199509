package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The configuration hash item: pk = sk = "HASH", with the revision (N)
// it was recorded for and the hash (S). It is not the revision item, so
// recording it does not show on the stream the publisher is driven by.
const (
	hashKey  = "HASH"
	attrHash = "hash"
)

// ConfigHash implements store.Store.
func (s *Store) ConfigHash(ctx context.Context) (string, int64, bool, error) {
	st, err := s.state(ctx)
	if err != nil {
		return "", 0, false, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(hashKey, hashKey),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", 0, false, fmt.Errorf("reading the configuration hash: %w", err)
	}
	hash := stringAttr(out.Item, attrHash)
	n, _ := out.Item[attrRevision].(*types.AttributeValueMemberN)
	if n == nil || hash == "" {
		return "", st.rev, false, nil
	}
	rev, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return "", 0, false, fmt.Errorf("reading the configuration hash's revision %q: %w", n.Value, err)
	}
	return hash, st.rev, rev == st.rev, nil
}

// RecordConfigHash implements store.Store: one conditional update, which
// leaves a record of a newer revision in place.
func (s *Store) RecordConfigHash(ctx context.Context, rev int64, hash string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(hashKey, hashKey),
		UpdateExpression:    aws.String("SET #rev = :rev, #hash = :hash"),
		ConditionExpression: aws.String("attribute_not_exists(#rev) OR #rev <= :rev"),
		ExpressionAttributeNames: map[string]string{
			"#rev": attrRevision, "#hash": attrHash,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":rev":  &types.AttributeValueMemberN{Value: strconv.FormatInt(rev, 10)},
			":hash": str(hash),
		},
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return nil
	case err != nil:
		return fmt.Errorf("recording the configuration hash of revision %d: %w", rev, err)
	}
	return nil
}
