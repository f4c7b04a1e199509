package dynamo_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// TestIdentityRestoredTable restores a table as DynamoDB does (a new
// table holding a copy of the items) and sees the copy report Restored
// with the same cluster and epoch, until a new epoch records it as the
// table the epoch began in; the original table is not restored.
func TestIdentityRestoredTable(t *testing.T) {
	ctx := context.Background()
	client := emulator(t)
	origName := newTable(t, client)
	orig := dynamo.New(client, origName)
	svc := model.NewService()
	svc.ID, svc.Name, svc.Host = "5e0c8a52-7e1d-4c6b-9a2f-5d8e1b4c7a90", model.String("a"), "a.internal"
	_, err := orig.Create(ctx, svc, store.Origin{})
	require.NoError(t, err)
	id, err := orig.Identity(ctx)
	require.NoError(t, err)
	require.False(t, id.Restored)

	restoredName := newTable(t, client)
	copyItems(t, client, origName, restoredName)
	restored := dynamo.New(client, restoredName)
	got, err := restored.Identity(ctx)
	require.NoError(t, err)
	require.Equal(t, store.Identity{Identity: id.Identity, Restored: true}, got)
	rev, err := restored.Revision(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), rev, "the copy holds the revision")

	next, err := restored.NewEpoch(ctx, got.Identity, 2)
	require.NoError(t, err)
	got, err = dynamo.New(client, restoredName).Identity(ctx)
	require.NoError(t, err)
	require.Equal(t, store.Identity{Identity: next}, got, "the new epoch began in this table")

	again, err := orig.Identity(ctx)
	require.NoError(t, err)
	require.Equal(t, id, again, "the original table keeps its epoch")
}

// copyItems copies every item of table from into table to.
func copyItems(t *testing.T, client *dynamodb.Client, from, to string) {
	t.Helper()
	ctx := context.Background()
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(from), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		for _, it := range page.Items {
			_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(to), Item: it})
			require.NoError(t, err)
		}
	}
}
