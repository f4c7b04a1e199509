package publisher_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/rollout"
	"github.com/skyport-gw/skyport/lambdas/store"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// TestStagedRolloutAWS runs the staged rollout on the AWS path against the
// emulator: DynamoDB store and cluster table, S3, the @connections API. A
// revision is announced to the canary only; the canary's 5xx halts it, the
// last good configuration is committed to the table as a new revision,
// which every wave is told about.
func TestStagedRolloutAWS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := motoserver.Start(t)
	cfg := srv.SerialConfig()
	ddb := dynamodb.NewFromConfig(cfg)
	st := dynamo.New(ddb, "skyport")
	require.NoError(t, st.CreateTable(ctx))
	reg := cluster.NewDynamo(ddb, "skyport-cluster", nil)
	require.NoError(t, reg.CreateTable(ctx))
	objects := objstore.NewS3(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), "skyport-snapshots", "cp")
	require.NoError(t, objects.CreateBucket(ctx))
	api := &connectionsAPI{received: map[string][]protocol.ConfigNotice{}, gone: map[string]bool{}}
	mgmtSrv := httptest.NewServer(api)
	t.Cleanup(mgmtSrv.Close)
	mgmt := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(mgmtSrv.URL)
	})

	var mu sync.Mutex
	now := time.Unix(1790000000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	hist := history.New(objects, history.Retention{}, clock)
	ctl := rollout.New(rollout.Options{Objects: objects, History: hist, Nodes: reg, Restorer: rollout.StoreRestorer(st),
		Clock: clock, Logger: quiet()})
	_, key := newKey(t)
	pub := publisher.New(publisher.Options{Source: st, Objects: objects, Key: key, History: hist, Rollout: ctl,
		Notifier: cluster.NewManagementNotifier(mgmt), Connections: reg, Logger: quiet()})

	origin := store.Origin{RequestID: "test"}
	svc := service("orders").(*model.Service)
	rev1, err := st.Create(ctx, svc, origin)
	require.NoError(t, err)
	_, err = pub.Publish(ctx)
	require.NoError(t, err)
	require.NoError(t, ctl.SetPolicy(ctx, rollout.Policy{
		Waves:  []rollout.WaveSpec{{Selector: "ring:canary", BakeSeconds: 5}, {Selector: "*"}},
		HaltOn: rollout.HaltOn{Rejected: true, ErrorRatio5xx: 0.05},
	}))
	require.NoError(t, pub.Reconcile(ctx))

	id, err := st.Identity(ctx)
	require.NoError(t, err)
	exp := time.Now().Add(time.Hour).Unix()
	for _, ring := range []string{"canary", "main"} {
		require.NoError(t, reg.PutConnection(ctx, cluster.Connection{ID: ring + "=", NodeID: ring, ExpiresAt: exp}))
		require.NoError(t, reg.UpdateNode(ctx, ring, "", func(n *cluster.Node) {
			n.Labels, n.Revision, n.ClusterID, n.Epoch, n.State = map[string]string{"ring": ring}, rev1, id.ClusterID, id.Epoch, protocol.StateApplied
			n.ExpiresAt, n.LastSeen = exp, now.Unix()
		}))
	}

	// Revision 2 is told to the canary only.
	_, ver, err := st.GetVersioned(ctx, model.KindService, svc.ID)
	require.NoError(t, err)
	svc.Retries = 2
	rev2, err := st.Update(ctx, svc, ver, origin)
	require.NoError(t, err)
	_, err = pub.Publish(ctx)
	require.NoError(t, err)
	require.Contains(t, api.revisions("canary="), rev2)
	require.NotContains(t, api.revisions("main="), rev2)

	// The canary answers 5xx on it: the rollout halts and the last good
	// configuration is committed as revision 3.
	require.NoError(t, reg.UpdateNode(ctx, "canary", "", func(n *cluster.Node) {
		n.Revision, n.Requests, n.Errors5xx = rev2, 100, 40
	}))
	require.NoError(t, pub.Reconcile(ctx))
	rs, err := ctl.Rollouts(ctx)
	require.NoError(t, err)
	require.Equal(t, rollout.StateHalted, rs[0].State)
	require.Contains(t, rs[0].HaltReason, "5xx ratio")
	require.Equal(t, rev2+1, rs[0].RollbackRevision)
	got, err := st.Get(ctx, model.KindService, svc.ID)
	require.NoError(t, err)
	require.EqualValues(t, 5, got.(*model.Service).Retries, "the table holds the last good configuration again")

	// Revision 3 goes to every wave at once.
	_, err = pub.Publish(ctx)
	require.NoError(t, err)
	for _, conn := range []string{"canary=", "main="} {
		require.True(t, slices.Contains(api.revisions(conn), rev2+1), "%s told %v", conn, api.revisions(conn))
	}
	require.NotContains(t, api.revisions("main="), rev2, "main never heard of the halted revision")
}
