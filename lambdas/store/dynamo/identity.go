package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/store"
)

// The identity item: pk = sk = "CLUSTER".
const (
	clusterKey    = "CLUSTER"
	attrClusterID = "cluster_id"
	attrEpoch     = "epoch"
	// attrTable names the table the epoch began in (tableID).
	attrTable = "table_id"
	attrSince = "since"
)

// Identity implements store.Store: it reads the identity item, creating
// it (conditionally, so that concurrent first callers agree on one) when
// the table has none, and reports Restored when the item names another
// table than this one: DynamoDB restores a backup (point-in-time or on
// demand) into a new table, items and all.
func (s *Store) Identity(ctx context.Context) (store.Identity, error) {
	table, err := s.tableID(ctx)
	if err != nil {
		return store.Identity{}, err
	}
	for range 2 {
		it, err := s.identityItem(ctx)
		if err != nil {
			return store.Identity{}, err
		}
		if it != nil {
			return decodeIdentity(it, table)
		}
		if err := s.createIdentity(ctx, table); err != nil {
			return store.Identity{}, err
		}
	}
	return store.Identity{}, errors.New("reading the cluster identity: created but not found")
}

func (s *Store) identityItem(ctx context.Context) (item, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(clusterKey, clusterKey),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("reading the cluster identity: %w", err)
	}
	return out.Item, nil
}

// createIdentity writes a new identity unless one exists already. It is
// an UpdateItem, as NewEpoch is, so that the publisher needs no other
// write on the table than updates of this one item (the stack's grant).
func (s *Store) createIdentity(ctx context.Context, table string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(clusterKey, clusterKey),
		UpdateExpression:    aws.String("SET #cluster = :cluster, #epoch = :epoch, #table = :table, #since = :since"),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
		ExpressionAttributeNames: map[string]string{
			"#cluster": attrClusterID, "#epoch": attrEpoch, "#table": attrTable, "#since": attrSince,
		},
		ExpressionAttributeValues: item{
			":cluster": str(uuid.NewString()), ":epoch": num(1), ":table": str(table), ":since": num(time.Now().Unix()),
		},
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("creating the cluster identity: %w", err)
	}
	return nil
}

func decodeIdentity(it item, table string) (store.Identity, error) {
	var id store.Identity
	id.ClusterID = stringAttr(it, attrClusterID)
	if n, ok := it[attrEpoch].(*types.AttributeValueMemberN); ok {
		id.Epoch, _ = strconv.ParseInt(n.Value, 10, 64)
	}
	if err := id.Check(); err != nil || id.IsZero() {
		return store.Identity{}, fmt.Errorf("reading the cluster identity: %w", snapshot.ErrIdentity)
	}
	id.Restored = stringAttr(it, attrTable) != table
	return id, nil
}

// NewEpoch implements store.Store: one conditional update of the identity
// item, which also records this table as the one the epoch began in.
func (s *Store) NewEpoch(ctx context.Context, from snapshot.Identity, to int64) (snapshot.Identity, error) {
	if to <= from.Epoch {
		return snapshot.Identity{}, fmt.Errorf("starting epoch %d: not after epoch %d", to, from.Epoch)
	}
	table, err := s.tableID(ctx)
	if err != nil {
		return snapshot.Identity{}, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(clusterKey, clusterKey),
		UpdateExpression:    aws.String("SET #epoch = :to, #table = :table, #since = :since"),
		ConditionExpression: aws.String("#cluster = :cluster AND #epoch = :from"),
		ExpressionAttributeNames: map[string]string{
			"#epoch": attrEpoch, "#table": attrTable, "#since": attrSince, "#cluster": attrClusterID,
		},
		ExpressionAttributeValues: item{
			":to": num(to), ":table": str(table), ":since": num(time.Now().Unix()),
			":cluster": str(from.ClusterID), ":from": num(from.Epoch),
		},
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		return snapshot.Identity{}, fmt.Errorf("starting epoch %d: %w", to, store.ErrEpochMoved)
	case err != nil:
		return snapshot.Identity{}, fmt.Errorf("starting epoch %d: %w", to, err)
	}
	return snapshot.Identity{ClusterID: from.ClusterID, Epoch: to}, nil
}

// tableID names this incarnation of the table: DynamoDB's TableId, or,
// where an emulator leaves it out, the table's ARN and creation time (a
// table restored under the same name is created anew). It is read once.
func (s *Store) tableID(ctx context.Context) (string, error) {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if s.tableIncarnation != "" {
		return s.tableIncarnation, nil
	}
	out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	if err != nil {
		return "", fmt.Errorf("describing table %s: %w", s.table, err)
	}
	t := out.Table
	id := aws.ToString(t.TableId)
	if id == "" {
		id = aws.ToString(t.TableArn) + "@" + aws.ToTime(t.CreationDateTime).UTC().Format(time.RFC3339Nano)
	}
	s.tableIncarnation = id
	return id, nil
}
