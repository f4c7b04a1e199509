package cluster_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

const (
	clusterA = "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f"
	clusterB = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
)

func TestBehind(t *testing.T) {
	t.Parallel()
	a1 := snapshot.Pointer{ClusterID: clusterA, Epoch: 1, Revision: 5}
	tests := []struct {
		desc string
		node cluster.Node
		ptr  snapshot.Pointer
		want bool
	}{
		{desc: "unknown node", ptr: a1, want: true},
		{desc: "older revision, same epoch", node: cluster.Node{ClusterID: clusterA, Epoch: 1, Revision: 4}, ptr: a1, want: true},
		{desc: "same revision, same epoch", node: cluster.Node{ClusterID: clusterA, Epoch: 1, Revision: 5}, ptr: a1},
		{desc: "newer revision, same epoch", node: cluster.Node{ClusterID: clusterA, Epoch: 1, Revision: 9}, ptr: a1},
		{desc: "newer revision of an older epoch", node: cluster.Node{ClusterID: clusterA, Epoch: 1, Revision: 58},
			ptr: snapshot.Pointer{ClusterID: clusterA, Epoch: 2, Revision: 2}, want: true},
		{desc: "newer revision of another cluster", node: cluster.Node{ClusterID: clusterB, Epoch: 1, Revision: 58}, ptr: a1, want: true},
		{desc: "unidentified node at a newer revision", node: cluster.Node{Revision: 58}, ptr: a1, want: true},
		{desc: "rejected this revision", node: cluster.Node{ClusterID: clusterB, Epoch: 1, Revision: 58, RejectedRevision: 5}, ptr: a1},
		{desc: "nothing published", node: cluster.Node{}, ptr: snapshot.Pointer{}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, cluster.Behind(tt.node, tt.ptr))
		})
	}
}

// TestHandlerClusterMismatch: a data plane of another cluster is told
// about the published pointer whatever its revision; its refusal shows as
// sync_status cluster_mismatch with its identity; after its next hello
// (restarted to adopt the cluster) the revision is announced again; once
// it applies, it is normal.
func TestHandlerClusterMismatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(start)
	f := newFixture(t, cluster.NewMemory(clk.Now), clk)
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "connect.json")))
	publishAs(t, f.objects, snapshot.Pointer{ClusterID: clusterA, Epoch: 1, Revision: 2})

	hello := `{"action":"hello","node_id":"` + nodeID + `","revision":58,"cluster_id":"` + clusterB + `","epoch":1}`
	require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "hello.json"), hello)))
	notices := f.posts.notices(t, connID)
	require.Len(t, notices, 1, "a data plane of another cluster is behind whatever its revision")
	require.Equal(t, clusterA, notices[0].ClusterID)
	require.Equal(t, int64(1), notices[0].Epoch)

	nack := `{"action":"status","node_id":"` + nodeID + `","revision":58,"cluster_id":"` + clusterB + `","epoch":1,` +
		`"state":"rejected","reason":"` + protocol.ReasonClusterMismatch + `","error":"another cluster","rejected_revision":2}`
	require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "status.json"), nack)))
	dp := onlyDataPlane(t, f.reg)
	require.Equal(t, cluster.SyncClusterMismatch, dp.SyncStatus)
	require.Equal(t, clusterB, dp.ClusterID)
	require.Equal(t, "another cluster", dp.Error)

	clk.Advance(time.Second)
	require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "hello.json"), hello)))
	require.Len(t, f.posts.notices(t, connID), 2, "after a hello, a refusal for another cluster is announced again")

	ack := `{"action":"status","node_id":"` + nodeID + `","revision":2,"cluster_id":"` + clusterA + `","epoch":1,"state":"applied"}`
	require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "status.json"), ack)))
	dp = onlyDataPlane(t, f.reg)
	require.Equal(t, cluster.SyncNormal, dp.SyncStatus)
	require.Equal(t, clusterA, dp.ClusterID)
	require.Empty(t, dp.Error)
	n, err := f.reg.GetNode(ctx, nodeID)
	require.NoError(t, err)
	require.Empty(t, n.Reason)
}

func onlyDataPlane(t *testing.T, reg cluster.Registry) cluster.DataPlane {
	t.Helper()
	page, err := reg.ListDataPlanes(context.Background(), cluster.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	return page.Data[0]
}

// publishAs writes latest.json for p, completed with the key and fields
// a notice needs.
func publishAs(t *testing.T, objects objstore.Store, p snapshot.Pointer) {
	t.Helper()
	p.Key = p.Identity().Key(p.Revision)
	p.SHA256, p.Size, p.Signature, p.Format = "00", 1, "sig", snapshot.Format
	data, err := json.Marshal(p)
	require.NoError(t, err)
	_, err = objects.Put(context.Background(), snapshot.LatestKey, data, objstore.Condition{})
	require.NoError(t, err)
}
