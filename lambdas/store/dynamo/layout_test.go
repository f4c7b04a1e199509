package dynamo_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// TestLayout checks the table contract the CDK stack and the stream
// filter rely on, and that a replaced generation leaves nothing behind.
func TestLayout(t *testing.T) {
	ctx := context.Background()
	client := emulator(t)
	name := newTable(t, client)
	s := dynamo.New(client, name)

	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	require.NoError(t, err)
	require.ElementsMatch(t, []types.KeySchemaElement{
		{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
	}, desc.Table.KeySchema)
	require.NotNil(t, desc.Table.StreamSpecification)
	require.True(t, aws.ToBool(desc.Table.StreamSpecification.StreamEnabled))
	require.Equal(t, types.StreamViewTypeNewAndOldImages, desc.Table.StreamSpecification.StreamViewType)

	svc := model.NewService()
	svc.ID, svc.Name, svc.Host = "3f0c8a52-7e1d-4c6b-9a2f-5d8e1b4c7a90", model.String("a"), "a.internal"
	_, err = s.Create(ctx, svc, store.Origin{})
	require.NoError(t, err)
	requireLayout(t, client, name, 1)

	next := model.NewService()
	next.ID, next.Name, next.Host = "8b2d4f6a-1c3e-4a5b-8d7f-9e0a1b2c3d4e", model.String("b"), "b.internal"
	c := &model.Consumer{Base: model.Base{ID: "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"}, Username: model.String("c")}
	key := &model.KeyAuth{Base: model.Base{ID: "d1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"}, Key: "k", Consumer: &model.Ref{ID: c.ID}}
	rev, err := s.ReplaceAll(ctx, &model.Config{Services: []*model.Service{next}, Consumers: []*model.Consumer{c}, KeyAuths: []*model.KeyAuth{key}}, store.Origin{})
	require.NoError(t, err)
	require.Equal(t, int64(2), rev)
	items := requireLayout(t, client, name, 2)
	// The revision, two changes, two change-log entries, three entities,
	// three unique guards (a name, a username, a key) and one reverse
	// reference: the old generation is gone.
	require.Len(t, items, 1+2+2+3+3+1)
}

// requireLayout scans the table and checks every item against the layout.
func requireLayout(t *testing.T, client *dynamodb.Client, table string, rev int64) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		require.NoError(t, err)
		items = append(items, page.Items...)
	}
	s := func(it map[string]types.AttributeValue, a string) string {
		v, _ := it[a].(*types.AttributeValueMemberS)
		require.NotNil(t, v, "attribute %s of %v", a, it)
		return v.Value
	}
	var gen string
	changes, logs := 0, 0
	for _, it := range items {
		if s(it, "pk") == "REVISION" {
			require.Equal(t, "REVISION", s(it, "sk"))
			n, ok := it["revision"].(*types.AttributeValueMemberN)
			require.True(t, ok, "the revision is a number")
			require.Equal(t, strconv.FormatInt(rev, 10), n.Value)
			gen = s(it, "gen")
		}
	}
	require.NotEmpty(t, gen, "the revision item names the current generation")
	twenty := regexp.MustCompile(`^[0-9]{20}$`)
	for _, it := range items {
		switch pk := s(it, "pk"); {
		case pk == "REVISION":
		case pk == "CLUSTER":
			require.Equal(t, "CLUSTER", s(it, "sk"))
			require.Regexp(t, `^[0-9a-f-]{36}$`, s(it, "cluster_id"))
		case pk == "CHANGE":
			require.Regexp(t, twenty, s(it, "sk"))
			changes++
		case pk == "LOG":
			require.Regexp(t, twenty, s(it, "sk"))
			require.NotNil(t, it["expires_at"], "a change-log entry expires")
			logs++
		default:
			require.True(t, strings.HasPrefix(pk, "G#"+gen+"#"), "item %s/%s outside the current generation %s", pk, s(it, "sk"), gen)
		}
	}
	require.Equal(t, int(rev), changes, "one change record per revision")
	require.Equal(t, int(rev), logs, "one change-log entry per revision")
	return items
}
