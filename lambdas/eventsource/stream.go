package eventsource

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// TableDescriber is the part of the DynamoDB client LatestStreamARN uses.
type TableDescriber interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// ErrNoStream is returned by LatestStreamARN for a table without a stream.
var ErrNoStream = errors.New("table has no stream")

// LatestStreamARN returns the ARN of table's current stream.
func LatestStreamARN(ctx context.Context, client TableDescriber, table string) (string, error) {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		return "", fmt.Errorf("describing table %s: %w", table, err)
	}
	arn := aws.ToString(out.Table.LatestStreamArn)
	if arn == "" {
		return "", fmt.Errorf("table %s: %w", table, ErrNoStream)
	}
	return arn, nil
}
