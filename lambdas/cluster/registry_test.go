package cluster_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

// clock is a settable test clock.
type clock struct{ now atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.now.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

var start = time.Date(2026, 11, 21, 5, 30, 0, 0, time.UTC)

// registryKind builds a fresh registry on clk.
type registryKind struct {
	name string
	make func(t *testing.T, clk *clock) cluster.Registry
}

var tableSeq atomic.Int64

// registryKinds returns the in-process registry and, when the emulator
// is available, the DynamoDB one, so both pass the same tests.
func registryKinds(t *testing.T) []registryKind {
	t.Helper()
	kinds := []registryKind{{name: "memory", make: func(_ *testing.T, clk *clock) cluster.Registry {
		return cluster.NewMemory(clk.Now)
	}}}
	srv := motoserver.Start(t)
	client := dynamodb.NewFromConfig(srv.Config())
	kinds = append(kinds, registryKind{name: "dynamo", make: func(t *testing.T, clk *clock) cluster.Registry {
		reg := cluster.NewDynamo(client, fmt.Sprintf("cluster-%d", tableSeq.Add(1)), clk.Now)
		require.NoError(t, reg.CreateTable(context.Background()))
		require.NoError(t, reg.CreateTable(context.Background()), "creating an existing table is not an error")
		return reg
	}})
	return kinds
}

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	for _, kind := range registryKinds(t) {
		t.Run(kind.name, func(t *testing.T) {
			clk := newClock(start)
			reg := kind.make(t, clk)
			exp := start.Add(time.Hour).Unix()

			require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: "b", IP: "10.0.0.2", ConnectedAt: start.Unix(), ExpiresAt: exp}))
			require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: "a", NodeID: "n1", IP: "10.0.0.1", ConnectedAt: start.Unix(), ExpiresAt: exp}))
			require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: "old", ExpiresAt: start.Add(time.Minute).Unix()}))
			got, err := reg.GetConnection(ctx, "a")
			require.NoError(t, err)
			require.Equal(t, cluster.Connection{ID: "a", NodeID: "n1", IP: "10.0.0.1", ConnectedAt: start.Unix(), ExpiresAt: exp}, got)
			_, err = reg.GetConnection(ctx, "missing")
			require.ErrorIs(t, err, cluster.ErrNotFound)

			clk.Advance(2 * time.Minute)
			conns, err := reg.ListConnections(ctx)
			require.NoError(t, err)
			require.Len(t, conns, 2, "the expired row is hidden")
			require.Equal(t, "a", conns[0].ID)
			require.Equal(t, "b", conns[1].ID)
			_, err = reg.GetConnection(ctx, "old")
			require.ErrorIs(t, err, cluster.ErrNotFound, "an expired row is gone even before the store removes it")

			require.NoError(t, reg.DeleteConnection(ctx, "a"))
			require.NoError(t, reg.DeleteConnection(ctx, "a"), "deleting an absent row is not an error")
			_, err = reg.GetConnection(ctx, "a")
			require.ErrorIs(t, err, cluster.ErrNotFound)

			nodes := []cluster.Node{
				{NodeID: "n2", Hostname: "h2", Version: "0.1.0", Revision: 4, State: "rejected", Error: "plugin_set_incompatible: missing acme", RejectedRevision: 5, LastSeen: start.Unix(), UpdatedAt: start.Unix(), ExpiresAt: start.Add(time.Hour).Unix()},
				{NodeID: "n1", Hostname: "h1", Version: "0.1.0", Labels: map[string]string{"tier": "edge"}, IP: "10.0.0.1", Revision: 5, ConfigHash: "abc", State: "applied", Plugins: []string{"key-auth"}, LastSeen: start.Unix(), UpdatedAt: start.Unix(), ExpiresAt: start.Add(time.Hour).Unix()},
				{NodeID: "n3", Revision: 1, State: "rejected", Error: "bad snapshot", ExpiresAt: start.Add(time.Hour).Unix()},
				{NodeID: "n4", Revision: 1, ExpiresAt: start.Add(time.Hour).Unix()},
			}
			for _, n := range nodes {
				require.NoError(t, reg.PutNode(ctx, n))
			}
			n1, err := reg.GetNode(ctx, "n1")
			require.NoError(t, err)
			require.Equal(t, nodes[1], n1)
			_, err = reg.GetNode(ctx, "nope")
			require.ErrorIs(t, err, cluster.ErrNotFound)

			dps, err := reg.ListDataPlanes(ctx)
			require.NoError(t, err)
			require.Len(t, dps, 4)
			want := map[string]string{"n1": cluster.SyncNormal, "n2": cluster.SyncPluginSetIncompatible, "n3": cluster.SyncUnknown, "n4": cluster.SyncUnknown}
			for _, dp := range dps {
				require.Equal(t, want[dp.ID], dp.SyncStatus, dp.ID)
				require.Equal(t, int64(58*60), dp.TTL, "ttl counts down from the row's expiry")
				require.NotNil(t, dp.Labels)
			}
			require.Equal(t, "n1", dps[0].ID)
			require.Equal(t, "10.0.0.1", dps[0].IP)
			require.Equal(t, int64(5), dps[0].Revision)
			require.Equal(t, "edge", dps[0].Labels["tier"])
		})
	}
}
