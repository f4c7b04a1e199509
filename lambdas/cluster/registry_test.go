package cluster_test

import (
	"context"
	"fmt"
	"sync"
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

// registryKind builds a fresh registry on clk with opts.
type registryKind struct {
	name string
	make func(t *testing.T, clk *clock, opts ...cluster.Option) cluster.Registry
	// concurrent is false on the emulator: moto evaluates a condition and
	// writes without a lock, and rolls a failed transaction back by
	// restoring a copy of the whole table, so concurrent conditional
	// writes race there as they never do on DynamoDB. The DynamoDB
	// registry's lost races are staged one at a time instead
	// (dynamo_test.go).
	concurrent bool
}

var tableSeq atomic.Int64

// registryKinds returns the in-process registry and the DynamoDB one on
// the emulator, so both pass the same tests.
func registryKinds(t *testing.T) []registryKind {
	t.Helper()
	kinds := []registryKind{{name: "memory", concurrent: true, make: func(_ *testing.T, clk *clock, opts ...cluster.Option) cluster.Registry {
		return cluster.NewMemory(clk.Now, opts...)
	}}}
	srv := motoserver.Start(t)
	client := dynamodb.NewFromConfig(srv.Config())
	kinds = append(kinds, registryKind{name: "dynamo", make: func(t *testing.T, clk *clock, opts ...cluster.Option) cluster.Registry {
		reg := cluster.NewDynamo(client, fmt.Sprintf("cluster-%d", tableSeq.Add(1)), clk.Now, opts...)
		require.NoError(t, reg.CreateTable(context.Background()))
		require.NoError(t, reg.CreateTable(context.Background()), "creating an existing table is not an error")
		return reg
	}})
	return kinds
}

// race runs fn(0..n-1) at once when the registry is concurrent, one
// after the other otherwise.
func race(kind registryKind, n int, fn func(i int)) {
	if !kind.concurrent {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
}

// putNode creates or replaces a row through UpdateNode, as the handler does.
func putNode(t *testing.T, reg cluster.Registry, owner string, n cluster.Node) {
	t.Helper()
	require.NoError(t, reg.UpdateNode(context.Background(), n.NodeID, owner, func(row *cluster.Node) {
		seq, own := row.Seq, row.Owner
		*row = n
		row.Seq, row.Owner = seq, own
	}))
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
				putNode(t, reg, "fleet", n)
			}
			n1, err := reg.GetNode(ctx, "n1")
			require.NoError(t, err)
			want := nodes[1]
			want.Owner, want.Seq = "fleet", 1
			require.Equal(t, want, n1)
			_, err = reg.GetNode(ctx, "nope")
			require.ErrorIs(t, err, cluster.ErrNotFound)

			page, err := reg.ListDataPlanes(ctx, cluster.ListOptions{})
			require.NoError(t, err)
			dps := page.Data
			require.Len(t, dps, 4)
			require.Empty(t, page.Next)
			sync := map[string]string{"n1": cluster.SyncNormal, "n2": cluster.SyncPluginSetIncompatible, "n3": cluster.SyncUnknown, "n4": cluster.SyncUnknown}
			for _, dp := range dps {
				require.Equal(t, sync[dp.ID], dp.SyncStatus, dp.ID)
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

// TestRegistryBindConnection: a connection is bound to the node of its
// first hello; a message for another node is refused, even when many race
// to bind one connection.
func TestRegistryBindConnection(t *testing.T) {
	ctx := context.Background()
	for _, kind := range registryKinds(t) {
		t.Run(kind.name, func(t *testing.T) {
			clk := newClock(start)
			reg := kind.make(t, clk)
			exp := start.Add(time.Hour).Unix()
			require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: "c1", IP: "10.0.0.1", Owner: "fleet", ConnectedAt: start.Unix(), ExpiresAt: exp}))

			c, err := reg.BindConnection(ctx, cluster.Connection{ID: "c1", NodeID: "n1", IP: "10.9.9.9", Owner: "other", ConnectedAt: start.Add(time.Minute).Unix(), ExpiresAt: exp + 60})
			require.NoError(t, err)
			require.Equal(t, cluster.Connection{ID: "c1", NodeID: "n1", IP: "10.0.0.1", Owner: "fleet", ConnectedAt: start.Unix(), ExpiresAt: exp + 60}, c,
				"binding keeps what $connect recorded and moves the expiry")
			_, err = reg.BindConnection(ctx, cluster.Connection{ID: "c1", NodeID: "n1", ExpiresAt: exp + 120})
			require.NoError(t, err, "the same node again")
			_, err = reg.BindConnection(ctx, cluster.Connection{ID: "c1", NodeID: "n2", ExpiresAt: exp})
			require.ErrorIs(t, err, cluster.ErrNodeMismatch)
			got, err := reg.GetConnection(ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, "n1", got.NodeID)
			require.Equal(t, exp+120, got.ExpiresAt)

			// A connection whose row was lost is bound by its next message.
			c, err = reg.BindConnection(ctx, cluster.Connection{ID: "c2", NodeID: "n2", IP: "10.0.0.2", Owner: "fleet", ConnectedAt: start.Unix(), ExpiresAt: exp})
			require.NoError(t, err)
			require.Equal(t, cluster.Connection{ID: "c2", NodeID: "n2", IP: "10.0.0.2", Owner: "fleet", ConnectedAt: start.Unix(), ExpiresAt: exp}, c)

			require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: "c3", ExpiresAt: exp}))
			var won atomic.Int64
			race(kind, 10, func(i int) {
				if _, err := reg.BindConnection(ctx, cluster.Connection{ID: "c3", NodeID: fmt.Sprintf("racer-%d", i), ExpiresAt: exp}); err == nil {
					won.Add(1)
				} else {
					require.ErrorIs(t, err, cluster.ErrNodeMismatch)
				}
			})
			require.Equal(t, int64(1), won.Load(), "one node binds a connection")
		})
	}
}

// TestRegistryNodeLimit: a credential keeps at most its limit of rows,
// however many race to create them; a new node replaces only a stale row;
// expired rows do not count.
func TestRegistryNodeLimit(t *testing.T) {
	ctx := context.Background()
	for _, kind := range registryKinds(t) {
		t.Run(kind.name, func(t *testing.T) {
			clk := newClock(start)
			reg := kind.make(t, clk, cluster.WithNodeLimit(5), cluster.WithStaleAfter(10*time.Minute))
			seen := func(n *cluster.Node) {
				n.LastSeen = clk.Now().Unix()
				n.ExpiresAt = clk.Now().Add(time.Hour).Unix()
			}

			var created atomic.Int64
			race(kind, 20, func(i int) {
				err := reg.UpdateNode(ctx, fmt.Sprintf("n%02d", i), "fleet", seen)
				if err == nil {
					created.Add(1)
					return
				}
				require.ErrorIs(t, err, cluster.ErrNodeLimit)
			})
			require.Equal(t, int64(5), created.Load())
			nodes, err := reg.ListNodes(ctx)
			require.NoError(t, err)
			require.Len(t, nodes, 5)

			require.NoError(t, reg.UpdateNode(ctx, "other-1", "other", seen), "another credential has its own limit")
			for _, n := range nodes {
				require.NoError(t, reg.UpdateNode(ctx, n.NodeID, "fleet", seen), "rows at the limit still update")
			}
			require.ErrorIs(t, reg.UpdateNode(ctx, "late", "fleet", seen), cluster.ErrNodeLimit)

			// Eleven minutes on, four rows report again: the fifth is stale
			// and the new node takes its place.
			clk.Advance(11 * time.Minute)
			for _, n := range nodes[1:] {
				require.NoError(t, reg.UpdateNode(ctx, n.NodeID, "fleet", seen))
			}
			require.NoError(t, reg.UpdateNode(ctx, "late", "fleet", seen))
			_, err = reg.GetNode(ctx, nodes[0].NodeID)
			require.ErrorIs(t, err, cluster.ErrNotFound, "the stale row was replaced")
			require.ErrorIs(t, reg.UpdateNode(ctx, "later", "fleet", seen), cluster.ErrNodeLimit, "no other row is stale")

			// Past every row's expiry, nothing counts any more.
			clk.Advance(2 * time.Hour)
			for i := range 5 {
				require.NoError(t, reg.UpdateNode(ctx, fmt.Sprintf("fresh-%d", i), "fleet", seen))
			}
			nodes, err = reg.ListNodes(ctx)
			require.NoError(t, err)
			require.Len(t, nodes, 5, "only the fresh rows are listed")
		})
	}
}

// TestRegistryUpdateNodeRaces: concurrent updates of one row lose nothing.
func TestRegistryUpdateNodeRaces(t *testing.T) {
	ctx := context.Background()
	for _, kind := range registryKinds(t) {
		t.Run(kind.name, func(t *testing.T) {
			clk := newClock(start)
			reg := kind.make(t, clk)
			const writers = 6
			race(kind, writers, func(i int) {
				require.NoError(t, reg.UpdateNode(ctx, "n1", "fleet", func(n *cluster.Node) {
					n.Revision++
					if n.Labels == nil {
						n.Labels = map[string]string{}
					}
					n.Labels[fmt.Sprintf("w%d", i)] = "x"
					n.ExpiresAt = clk.Now().Add(time.Hour).Unix()
				}))
			})
			n, err := reg.GetNode(ctx, "n1")
			require.NoError(t, err)
			require.Equal(t, int64(writers), n.Revision, "no update lost")
			require.Len(t, n.Labels, writers)
			require.Equal(t, int64(writers), n.Seq)
		})
	}
}

// TestRegistryListDataPlanesPages: Kong-style pages in id order, expired
// rows hidden, offsets opaque and checked.
func TestRegistryListDataPlanesPages(t *testing.T) {
	ctx := context.Background()
	for _, kind := range registryKinds(t) {
		t.Run(kind.name, func(t *testing.T) {
			clk := newClock(start)
			reg := kind.make(t, clk)
			var want []string
			for i := range 25 {
				id := fmt.Sprintf("node-%02d", i)
				exp := start.Add(time.Hour)
				if i%5 == 3 {
					exp = start.Add(time.Minute)
				} else {
					want = append(want, id)
				}
				putNode(t, reg, "fleet", cluster.Node{NodeID: id, ExpiresAt: exp.Unix()})
			}
			clk.Advance(2 * time.Minute)

			var got []string
			offset, pages := "", 0
			for {
				page, err := reg.ListDataPlanes(ctx, cluster.ListOptions{Size: 7, Offset: offset})
				require.NoError(t, err)
				pages++
				require.LessOrEqual(t, len(page.Data), 7)
				for _, dp := range page.Data {
					got = append(got, dp.ID)
				}
				if page.Next == "" {
					break
				}
				require.Len(t, page.Data, 7, "only the last page is short")
				offset = page.Next
			}
			require.Equal(t, want, got)
			require.Equal(t, 3, pages)

			page, err := reg.ListDataPlanes(ctx, cluster.ListOptions{Size: 20})
			require.NoError(t, err)
			require.Len(t, page.Data, 20)
			require.Empty(t, page.Next, "exactly one full page has no next")

			for _, bad := range []string{"!!", "bm9kZS0wMQ==x", "_w"} {
				_, err := reg.ListDataPlanes(ctx, cluster.ListOptions{Offset: bad})
				require.ErrorIs(t, err, cluster.ErrInvalidOffset, bad)
			}
		})
	}
}
