package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

// interleave is a DynamoDB client that runs a competing write once, just
// before the first write it forwards: a lost race, staged.
type interleave struct {
	cluster.DynamoAPI
	once   sync.Once
	before func()
}

func (c *interleave) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.once.Do(c.before)
	return c.DynamoAPI.PutItem(ctx, in, opts...)
}

func (c *interleave) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.once.Do(c.before)
	return c.DynamoAPI.TransactWriteItems(ctx, in, opts...)
}

// TestDynamoLostRaces: a write that loses a race to another writer reads
// again and applies its change on top, for an update and for a creation;
// the creation is counted once against the limit.
func TestDynamoLostRaces(t *testing.T) {
	ctx := context.Background()
	srv := motoserver.Start(t)
	client := dynamodb.NewFromConfig(srv.Config())
	clk := newClock(start)
	table := fmt.Sprintf("cluster-%d", tableSeq.Add(1))
	other := cluster.NewDynamo(client, table, clk.Now, cluster.WithNodeLimit(2))
	require.NoError(t, other.CreateTable(ctx))
	expire := func(n *cluster.Node) {
		n.LastSeen = clk.Now().Unix()
		n.ExpiresAt = clk.Now().Add(time.Hour).Unix()
	}

	tests := []struct {
		desc   string
		before func()
	}{
		{desc: "update", before: func() {
			require.NoError(t, other.UpdateNode(ctx, "n1", "fleet", func(n *cluster.Node) { n.Hostname = "theirs"; expire(n) }))
		}},
		{desc: "create", before: func() {
			require.NoError(t, other.UpdateNode(ctx, "n2", "fleet", func(n *cluster.Node) { n.Hostname = "theirs"; expire(n) }))
		}},
	}
	require.NoError(t, other.UpdateNode(ctx, "n1", "fleet", expire))
	for _, tt := range tests {
		id := map[string]string{"update": "n1", "create": "n2"}[tt.desc]
		reg := cluster.NewDynamo(&interleave{DynamoAPI: client, before: tt.before}, table, clk.Now, cluster.WithNodeLimit(2))
		require.NoError(t, reg.UpdateNode(ctx, id, "fleet", func(n *cluster.Node) { n.Version = "ours"; expire(n) }), tt.desc)
		n, err := other.GetNode(ctx, id)
		require.NoError(t, err)
		require.Equal(t, "theirs", n.Hostname, "%s: the other write is kept", tt.desc)
		require.Equal(t, "ours", n.Version, "%s: ours is applied on top", tt.desc)
	}
	require.ErrorIs(t, other.UpdateNode(ctx, "n3", "fleet", expire), cluster.ErrNodeLimit,
		"the raced creation counted once: two rows, limit two")
}
