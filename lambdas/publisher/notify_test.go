package publisher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/publisher"
)

// notifier records posts; connections in gone answer ErrGone.
type notifier struct {
	mu    sync.Mutex
	posts map[string][]protocol.ConfigNotice
	gone  map[string]bool
}

func (n *notifier) Post(_ context.Context, id string, payload []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.gone[id] {
		return fmt.Errorf("posting: %w", cluster.ErrGone)
	}
	var msg protocol.ConfigNotice
	if err := json.Unmarshal(payload, &msg); err != nil {
		return err
	}
	n.posts[id] = append(n.posts[id], msg)
	return nil
}

func (n *notifier) posted() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ids []string
	for id := range n.posts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

type presigner struct{}

func (presigner) PresignGet(_ context.Context, key string, ttl time.Duration) (string, error) {
	return fmt.Sprintf("https://bucket.example/%s?ttl=%s", key, ttl), nil
}

func TestNotifyOnlyDataPlanesBehind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, priv := newKey(t)
	reg := cluster.NewMemory(nil)
	exp := time.Now().Add(time.Hour).Unix()
	for _, c := range []cluster.Connection{
		{ID: "behind", NodeID: "n-behind"},
		{ID: "rejected", NodeID: "n-rejected"},
		{ID: "current", NodeID: "n-current"},
		{ID: "other-cluster", NodeID: "n-other-cluster"},
		{ID: "no-hello-yet"},
		{ID: "gone", NodeID: "n-gone"},
	} {
		c.ExpiresAt = exp
		require.NoError(t, reg.PutConnection(ctx, c))
	}
	for _, n := range []cluster.Node{
		{NodeID: "n-behind", Revision: 2},
		{NodeID: "n-rejected", Revision: 2, State: protocol.StateRejected, RejectedRevision: 3},
		{NodeID: "n-current", Revision: 3},
		{NodeID: "n-gone", Revision: 1},
	} {
		n.ClusterID, n.Epoch, n.ExpiresAt = testID.ClusterID, testID.Epoch, exp
		require.NoError(t, reg.PutNode(ctx, n))
	}
	// A data plane of another cluster, ahead in revision, is told too.
	for _, n := range []cluster.Node{
		{NodeID: "n-other-cluster", Revision: 9, ClusterID: "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", Epoch: 1},
	} {
		n.ExpiresAt = exp
		require.NoError(t, reg.PutNode(ctx, n))
	}
	note := &notifier{posts: map[string][]protocol.ConfigNotice{}, gone: map[string]bool{"gone": true}}
	p := publisher.New(publisher.Options{
		Source: newSource(3, "orders"), Objects: newDir(t), Key: priv,
		Notifier: note, Connections: reg, Presigner: presigner{}, Concurrency: 2,
	})

	ptr, err := p.Publish(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"behind", "no-hello-yet", "other-cluster"}, note.posted())
	got := note.posts["behind"][0]
	require.Equal(t, protocol.ConfigNotice{
		Type: protocol.TypeConfig, Revision: 3, Key: ptr.Key, SHA256: ptr.SHA256, Size: ptr.Size,
		URL:       "https://bucket.example/" + ptr.Key + "?ttl=" + cluster.PresignTTL.String(),
		Signature: ptr.Signature, Format: ptr.Format, ClusterID: testID.ClusterID, Epoch: testID.Epoch,
	}, got)
	_, err = reg.GetConnection(ctx, "gone")
	require.ErrorIs(t, err, cluster.ErrNotFound, "a gone connection loses its row")
	_, err = reg.GetConnection(ctx, "rejected")
	require.NoError(t, err)
}

func TestHandleEvent(t *testing.T) {
	t.Parallel()
	records := []events.DynamoDBEventRecord{
		{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{SequenceNumber: "100"}},
		{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{SequenceNumber: "101"}},
	}
	tests := []struct {
		desc     string
		records  []events.DynamoDBEventRecord
		fail     bool
		failures []events.DynamoDBBatchItemFailure
		objects  int
	}{
		{desc: "many records, one publication", records: records, objects: 2},
		{desc: "no records", objects: 0},
		{desc: "failure reports the first record", records: records, fail: true,
			failures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: "100"}}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, priv := newKey(t)
			objects := newDir(t)
			src := newSource(5, "orders")
			if tt.fail {
				src.exportErr = errRead
			}
			p := publisher.New(publisher.Options{Source: src, Objects: objects, Key: priv})
			resp, err := p.HandleEvent(context.Background(), events.DynamoDBEvent{Records: tt.records})
			require.NoError(t, err)
			require.Equal(t, tt.failures, resp.BatchItemFailures)
			require.Len(t, keys(t, objects), tt.objects)
		})
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// throttling answers ErrThrottled to each connection's first posts, and
// ErrGone to the connections in gone.
type throttling struct {
	mu        sync.Mutex
	throttles int
	calls     map[string]int
	delivered map[string]int
	gone      map[string]bool
}

func (n *throttling) Post(_ context.Context, id string, _ []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls[id]++
	switch {
	case n.gone[id]:
		return fmt.Errorf("posting: %w", cluster.ErrGone)
	case n.calls[id] <= n.throttles:
		return fmt.Errorf("posting: %w", cluster.ErrThrottled)
	}
	n.delivered[id]++
	return nil
}

func TestNotifyBacksOffWhenThrottled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc      string
		throttles int
		attempts  int
		delivered int
	}{
		{desc: "throttled twice, then delivered once", throttles: 2, attempts: 5, delivered: 1},
		{desc: "throttled past the attempts: given up", throttles: 9, attempts: 3, delivered: 0},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			_, priv := newKey(t)
			reg := cluster.NewMemory(nil)
			exp := time.Now().Add(time.Hour).Unix()
			var live []string
			for i := range 20 {
				id := fmt.Sprintf("c%02d", i)
				require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: id, ExpiresAt: exp}))
				live = append(live, id)
			}
			require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: "gone", ExpiresAt: exp}))
			note := &throttling{throttles: tt.throttles, calls: map[string]int{}, delivered: map[string]int{},
				gone: map[string]bool{"gone": true}}
			p := publisher.New(publisher.Options{
				Source: newSource(3, "orders"), Objects: newDir(t), Key: priv, Logger: quiet(),
				Notifier: note, Connections: reg, Concurrency: 4,
				Throttle: publisher.Throttle{Base: time.Millisecond, Cap: 4 * time.Millisecond, Attempts: tt.attempts},
			})
			_, err := p.Publish(ctx)
			require.NoError(t, err)
			for _, id := range live {
				require.Equal(t, tt.delivered, note.delivered[id], id)
				require.Equal(t, min(tt.throttles+1, tt.attempts), note.calls[id], id)
			}
			_, err = reg.GetConnection(ctx, "gone")
			require.ErrorIs(t, err, cluster.ErrNotFound, "a gone connection loses its row in the same pass")
		})
	}
}
