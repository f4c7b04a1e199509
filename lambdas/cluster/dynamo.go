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

// Partition keys of the cluster table's row kinds.
const (
	pkConnection = "CONN"
	pkNode       = "DP"
	// pkQuota holds one counter per credential (sk "OWNER#<owner>"): an
	// upper bound of its live data-plane rows, recounted when it reaches
	// the limit.
	pkQuota = "QUOTA"
)

// TTLAttribute is the cluster table's TTL attribute (epoch seconds).
const TTLAttribute = "expires_at"

// DynamoAPI is the part of the DynamoDB client the registry uses.
type DynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

var _ Registry = (*Dynamo)(nil)

// Dynamo is the Registry on the cluster table (keys pk/sk, TTL on
// expires_at): connection rows under pk "CONN", data-plane rows under pk
// "DP", sk the connection or node id, and the credentials' row counters
// under pk "QUOTA". DynamoDB removes expired rows within days, not at
// once: every read hides them itself.
type Dynamo struct {
	client DynamoAPI
	table  string
	clock  func() time.Time
	limits limits
}

// NewDynamo returns the registry on table; clock is time.Now when nil.
func NewDynamo(client DynamoAPI, table string, clock func() time.Time, opts ...Option) *Dynamo {
	if clock == nil {
		clock = time.Now
	}
	return &Dynamo{client: client, table: table, clock: clock, limits: newLimits(opts)}
}

// Rows are encoded with their json field names, so the attribute names
// match the documented ones (node_id, expires_at, …).
func jsonTags(o *attributevalue.EncoderOptions) { o.TagKey = "json" }

func jsonTagsDecode(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

type connItem struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
	Connection
}

type nodeItem struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
	Node
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

// PutConnection implements Registry.
func (d *Dynamo) PutConnection(ctx context.Context, c Connection) error {
	return d.put(ctx, connItem{PK: pkConnection, SK: c.ID, Connection: c})
}

// GetConnection implements Registry.
func (d *Dynamo) GetConnection(ctx context.Context, id string) (Connection, error) {
	var it connItem
	if err := d.get(ctx, pkConnection, id, &it); err != nil {
		return Connection{}, err
	}
	if !live(it.ExpiresAt, d.clock()) {
		return Connection{}, ErrNotFound
	}
	return it.Connection, nil
}

// DeleteConnection implements Registry.
func (d *Dynamo) DeleteConnection(ctx context.Context, id string) error {
	_, err := d.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &d.table, Key: key(pkConnection, id)})
	if err != nil {
		return fmt.Errorf("deleting connection: %w", err)
	}
	return nil
}

// ListConnections implements Registry.
func (d *Dynamo) ListConnections(ctx context.Context) ([]Connection, error) {
	var items []connItem
	if err := d.query(ctx, pkConnection, &items); err != nil {
		return nil, err
	}
	now := d.clock()
	out := make([]Connection, 0, len(items))
	for _, it := range items {
		if live(it.ExpiresAt, now) {
			out = append(out, it.Connection)
		}
	}
	return out, nil
}

// PutNode writes n as it is, outside the limit and the version check:
// for tests and restores, never for data planes' messages.
func (d *Dynamo) PutNode(ctx context.Context, n Node) error {
	return d.put(ctx, nodeItem{PK: pkNode, SK: n.NodeID, Node: n})
}

// GetNode implements Registry.
func (d *Dynamo) GetNode(ctx context.Context, nodeID string) (Node, error) {
	var it nodeItem
	if err := d.get(ctx, pkNode, nodeID, &it); err != nil {
		return Node{}, err
	}
	if !live(it.ExpiresAt, d.clock()) {
		return Node{}, ErrNotFound
	}
	return it.Node, nil
}

// ListNodes implements Registry.
func (d *Dynamo) ListNodes(ctx context.Context) ([]Node, error) {
	var items []nodeItem
	if err := d.query(ctx, pkNode, &items); err != nil {
		return nil, err
	}
	now := d.clock()
	out := make([]Node, 0, len(items))
	for _, it := range items {
		if live(it.ExpiresAt, now) {
			out = append(out, it.Node)
		}
	}
	return out, nil
}

func (d *Dynamo) put(ctx context.Context, item any) error {
	av, err := attributevalue.MarshalMapWithOptions(item, jsonTags)
	if err != nil {
		return fmt.Errorf("encoding cluster row: %w", err)
	}
	if _, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.table, Item: av}); err != nil {
		return fmt.Errorf("writing cluster row: %w", err)
	}
	return nil
}

func (d *Dynamo) get(ctx context.Context, pk, sk string, out any) error {
	res, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &d.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("reading cluster row: %w", err)
	}
	if res.Item == nil {
		return ErrNotFound
	}
	if err := attributevalue.UnmarshalMapWithOptions(res.Item, out, jsonTagsDecode); err != nil {
		return fmt.Errorf("decoding cluster row: %w", err)
	}
	return nil
}

// query reads every row of partition pk, all pages, sorted by sk.
func (d *Dynamo) query(ctx context.Context, pk string, out any) error {
	in := &dynamodb.QueryInput{
		TableName:                 &d.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true),
	}
	var all []map[string]types.AttributeValue
	for p := dynamodb.NewQueryPaginator(d.client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing cluster rows: %w", err)
		}
		all = append(all, page.Items...)
	}
	if err := attributevalue.UnmarshalListOfMapsWithOptions(all, out, jsonTagsDecode); err != nil {
		return fmt.Errorf("decoding cluster rows: %w", err)
	}
	return nil
}

// CreateTable creates the cluster table (on-demand, keys pk/sk) and
// enables TTL on expires_at; an existing table is not an error.
func (d *Dynamo) CreateTable(ctx context.Context) error {
	_, err := d.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: &d.table,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("creating table %s: %w", d.table, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(d.client)
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &d.table}, time.Minute); err != nil {
		return fmt.Errorf("waiting for table %s: %w", d.table, err)
	}
	ttl, err := d.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &d.table})
	if err != nil {
		return fmt.Errorf("reading TTL of %s: %w", d.table, err)
	}
	if s := ttl.TimeToLiveDescription; s != nil &&
		(s.TimeToLiveStatus == types.TimeToLiveStatusEnabled || s.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = d.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: &d.table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enabling TTL on %s: %w", d.table, err)
	}
	return nil
}
