package counters

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The counter table's layout (docs/contracts.md, "Counter table"): one
// item per counter, keyed by pk (Kong's counter key), the count in n, and
// expires (Unix seconds) as the table's TTL attribute.
const (
	attrKey     = "pk"
	attrCount   = "n"
	attrExpires = "expires"
)

// maxBatchGet is BatchGetItem's limit of keys per call.
const maxBatchGet = 100

// DynamoDBAPI is the part of the DynamoDB client the store uses.
type DynamoDBAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// DynamoDB is the cluster policy's store when counted on every request:
// each increment is one UpdateItem with ADD, which DynamoDB applies
// atomically (no read-modify-write, so no version to check), and the
// item expires through the table's TTL after its window.
type DynamoDB struct {
	client DynamoDBAPI
	table  string
	now    func() time.Time
}

var _ Store = (*DynamoDB)(nil)

// NewDynamoDB returns the store over table; now is the clock (time.Now
// when nil).
func NewDynamoDB(client DynamoDBAPI, table string, now func() time.Time) *DynamoDB {
	if now == nil {
		now = time.Now
	}
	return &DynamoDB{client: client, table: table, now: now}
}

// Get implements Store with consistent BatchGetItem reads.
func (d *DynamoDB) Get(ctx context.Context, keys []string) ([]int64, error) {
	found := make(map[string]int64, len(keys))
	pending := map[string]bool{}
	for _, k := range keys {
		pending[k] = true
	}
	for len(pending) > 0 {
		batch := make([]map[string]types.AttributeValue, 0, min(len(pending), maxBatchGet))
		for k := range pending {
			if len(batch) == maxBatchGet {
				break
			}
			batch = append(batch, map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberS{Value: k}})
			delete(pending, k)
		}
		out, err := d.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			d.table: {Keys: batch, ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#k, #n, #e"),
				ExpressionAttributeNames: map[string]string{"#k": attrKey, "#n": attrCount, "#e": attrExpires}},
		}})
		if err != nil {
			return nil, fmt.Errorf("reading counters from %s: %w", d.table, err)
		}
		now := d.now().Unix()
		for _, item := range out.Responses[d.table] {
			k, n, exp, err := decodeItem(item)
			if err != nil {
				return nil, err
			}
			if exp == 0 || exp > now {
				found[k] = n
			}
		}
		if un, ok := out.UnprocessedKeys[d.table]; ok {
			for _, key := range un.Keys {
				if s, ok := key[attrKey].(*types.AttributeValueMemberS); ok {
					pending[s.Value] = true
				}
			}
			if err := sleep(ctx, 50*time.Millisecond); err != nil {
				return nil, err
			}
		}
	}
	res := make([]int64, len(keys))
	for i, k := range keys {
		res[i] = found[k]
	}
	return res, nil
}

// Add implements Store: one atomic ADD per counter, its expiry set when
// the item is created.
func (d *DynamoDB) Add(ctx context.Context, incs []Increment) ([]int64, error) {
	out := make([]int64, len(incs))
	for i, inc := range incs {
		n, err := d.add(ctx, inc.Key, inc.N, d.now().Add(inc.TTL))
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

func (d *DynamoDB) add(ctx context.Context, key string, n int64, expires time.Time) (int64, error) {
	out, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(d.table),
		Key:                      map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberS{Value: key}},
		UpdateExpression:         aws.String("ADD #n :d SET #e = if_not_exists(#e, :e)"),
		ExpressionAttributeNames: map[string]string{"#n": attrCount, "#e": attrExpires},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)},
			":e": &types.AttributeValueMemberN{Value: strconv.FormatInt(expires.Unix(), 10)},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("incrementing counter in %s: %w", d.table, err)
	}
	nv, ok := out.Attributes[attrCount].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("incrementing counter in %s: %w", d.table, errNoCount)
	}
	v, err := strconv.ParseInt(nv.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("incrementing counter in %s: %w", d.table, err)
	}
	return v, nil
}

var errNoCount = errors.New("no count in the updated item")

func decodeItem(item map[string]types.AttributeValue) (key string, n, expires int64, err error) {
	k, ok := item[attrKey].(*types.AttributeValueMemberS)
	if !ok {
		return "", 0, 0, fmt.Errorf("reading a counter: %w", errNoCount)
	}
	if nv, ok := item[attrCount].(*types.AttributeValueMemberN); ok {
		if n, err = strconv.ParseInt(nv.Value, 10, 64); err != nil {
			return "", 0, 0, fmt.Errorf("reading counter %s: %w", k.Value, err)
		}
	}
	if ev, ok := item[attrExpires].(*types.AttributeValueMemberN); ok {
		if expires, err = strconv.ParseInt(ev.Value, 10, 64); err != nil {
			return "", 0, 0, fmt.Errorf("reading counter %s: %w", k.Value, err)
		}
	}
	return k.Value, n, expires, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// TableAPI is the part of the DynamoDB client CreateTable uses.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTable creates the counter table with its TTL, as the stack does
// (for emulators and tests); an existing table is left as it is.
func CreateTable(ctx context.Context, client TableAPI, table string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash}},
	})
	var exists *types.ResourceInUseException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("creating counter table %s: %w", table, err)
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrExpires), Enabled: aws.Bool(true)}})
	if err != nil && exists == nil {
		return fmt.Errorf("enabling TTL on counter table %s: %w", table, err)
	}
	return nil
}
