package sync

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

const (
	clusterA = "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f"
	clusterB = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
)

var (
	a1 = snapshot.Identity{ClusterID: clusterA, Epoch: 1}
	a2 = snapshot.Identity{ClusterID: clusterA, Epoch: 2}
	b1 = snapshot.Identity{ClusterID: clusterB, Epoch: 1}
)

func ptr(id snapshot.Identity, rev int64) snapshot.Pointer {
	return snapshot.Pointer{ClusterID: id.ClusterID, Epoch: id.Epoch, Revision: rev}
}

// TestJudge is the table of the identity rules a data plane applies to an
// announced snapshot.
func TestJudge(t *testing.T) {
	t.Parallel()
	running := func(id snapshot.Identity, rev int64) lineage { return lineage{id: id, known: true, running: rev} }
	cached := func(id snapshot.Identity, rev int64) lineage { return lineage{id: id, known: true, marked: rev} }
	tests := []struct {
		desc  string
		l     lineage
		p     snapshot.Pointer
		adopt bool
		want  verdict
	}{
		{desc: "nothing known: any cluster", p: ptr(b1, 1), want: follow},
		{desc: "nothing known: unidentified", p: ptr(snapshot.Identity{}, 1), want: follow},
		{desc: "newer revision, same epoch", l: running(a1, 5), p: ptr(a1, 6), want: follow},
		{desc: "same revision, same epoch", l: running(a1, 5), p: ptr(a1, 5), want: notNewer},
		{desc: "older revision, same epoch", l: running(a1, 5), p: ptr(a1, 4), want: notNewer},
		{desc: "lower revision of a newer epoch", l: running(a1, 58), p: ptr(a2, 2), want: newEpoch},
		{desc: "newer revision of an older epoch", l: running(a2, 2), p: ptr(a1, 60), want: olderEpoch},
		{desc: "older epoch, even when allowed to adopt", l: running(a2, 2), p: ptr(a1, 60), adopt: true, want: olderEpoch},
		{desc: "another cluster, higher revision", l: running(a1, 5), p: ptr(b1, 60), want: otherCluster},
		{desc: "another cluster, lower revision", l: running(a1, 58), p: ptr(b1, 2), want: otherCluster},
		{desc: "another cluster, allowed", l: running(a1, 58), p: ptr(b1, 2), adopt: true, want: adopt},
		{desc: "an unidentified control plane after an identified one", l: running(a1, 5), p: ptr(snapshot.Identity{}, 9), want: otherCluster},
		{desc: "first identified snapshot, same revision", l: running(snapshot.Identity{}, 58), p: ptr(a1, 58), want: adopt},
		{desc: "first identified snapshot, newer", l: running(snapshot.Identity{}, 58), p: ptr(a1, 60), want: adopt},
		{desc: "first identified snapshot, going back", l: running(snapshot.Identity{}, 58), p: ptr(a1, 2), want: otherCluster},
		{desc: "first identified snapshot, going back below the mark", l: cached(snapshot.Identity{}, 58), p: ptr(a1, 2), want: otherCluster},
		{desc: "unidentified, nothing running, mark of the same", l: cached(snapshot.Identity{}, 58), p: ptr(snapshot.Identity{}, 3), want: follow},
		{desc: "cache lost, mark of another cluster", l: cached(a1, 58), p: ptr(b1, 2), want: otherCluster},
		{desc: "cache lost, mark of the same epoch", l: cached(a1, 58), p: ptr(a1, 2), want: follow},
		{desc: "cache lost, mark of an older epoch", l: cached(a1, 58), p: ptr(a2, 2), want: newEpoch},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, judge(tt.l, tt.p, tt.adopt))
		})
	}
}

func TestRefusalSaysWhatToDo(t *testing.T) {
	t.Parallel()
	err := refuse(otherCluster, lineage{id: a1, known: true, running: 58}, ptr(b1, 2))
	require.ErrorIs(t, err, ErrClusterMismatch)
	require.ErrorContains(t, err, "cluster "+clusterB)
	require.ErrorContains(t, err, "runs revision 58 of cluster "+clusterA)
	require.ErrorContains(t, err, "--adopt-cluster")
	err = refuse(olderEpoch, lineage{id: a2, known: true, marked: 3}, ptr(a1, 60))
	require.ErrorIs(t, err, ErrClusterMismatch)
	require.ErrorContains(t, err, "cached epoch 2")
	require.False(t, errors.Is(err, ErrNotNewer))
}

// TestQueueOrdersEpochs: a newer epoch displaces a higher revision of the
// older one; an older epoch does not displace a newer one; another
// cluster's announcement is the latest word.
func TestQueueOrdersEpochs(t *testing.T) {
	t.Parallel()
	q := newQueue()
	require.True(t, q.offer(job{ptr: ptr(a1, 60)}))
	require.True(t, q.offer(job{ptr: ptr(a2, 2)}))
	require.False(t, q.offer(job{ptr: ptr(a1, 61)}), "an older epoch")
	j, ok := q.take()
	require.True(t, ok)
	require.Equal(t, ptr(a2, 2), j.ptr)

	require.True(t, q.offer(job{ptr: ptr(a2, 3)}))
	require.True(t, q.offer(job{ptr: ptr(b1, 1)}))
	j, _ = q.take()
	require.Equal(t, ptr(b1, 1), j.ptr)
	_, ok = q.take()
	require.False(t, ok)
}
