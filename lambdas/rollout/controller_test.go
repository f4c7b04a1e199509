package rollout_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/internal/wave"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/rollout"
)

var testID = snapshot.Identity{ClusterID: "6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f", Epoch: 1}

// fleet is the data planes' rows, as status messages leave them.
type fleet struct {
	mu    sync.Mutex
	nodes map[string]*cluster.Node
}

func (f *fleet) ListNodes(context.Context) ([]cluster.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []cluster.Node
	for _, n := range f.nodes {
		out = append(out, *n)
	}
	return out, nil
}

func (f *fleet) set(id string, fn func(n *cluster.Node)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.nodes[id])
}

// restorer records rollbacks as the store would commit them.
type restorer struct {
	env  *env
	cfgs []*model.Config
}

func (r *restorer) ReplaceAll(_ context.Context, cfg *model.Config, _ string) (int64, error) {
	r.cfgs = append(r.cfgs, cfg)
	return r.env.rev + 1, nil // the next publish publishes it
}

type env struct {
	t       *testing.T
	objects objstore.Store
	hist    *history.Log
	fleet   *fleet
	c       *rollout.Controller
	now     time.Time
	rev     int64
	halts   []string
	restore *restorer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	objects, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	return newEnvOn(t, objects)
}

// newS3Env is newEnv on S3, in the emulator: the AWS path's conditional
// writes.
func newS3Env(t *testing.T) *env {
	t.Helper()
	srv := motoserver.Start(t)
	objects := objstore.NewS3(s3.NewFromConfig(srv.SerialConfig(), func(o *s3.Options) { o.UsePathStyle = true }), "skyport-rollout", "cp")
	require.NoError(t, objects.CreateBucket(context.Background()))
	return newEnvOn(t, objects)
}

func newEnvOn(t *testing.T, objects objstore.Store) *env {
	t.Helper()
	start := time.Unix(1790000000, 0)
	seen := start.Add(time.Hour).Unix() // seen throughout the test
	e := &env{t: t, objects: objects, now: start, fleet: &fleet{nodes: map[string]*cluster.Node{
		"canary-1": {NodeID: "canary-1", Labels: map[string]string{"ring": "canary"}, LastSeen: seen},
		"main-1":   {NodeID: "main-1", Labels: map[string]string{"ring": "main"}, LastSeen: seen},
		"main-2":   {NodeID: "main-2", LastSeen: seen},
		// Gone for an hour: it counts in no wave.
		"main-3": {NodeID: "main-3", Labels: map[string]string{"ring": "main"}, LastSeen: start.Add(-time.Hour).Unix()},
	}}}
	clock := func() time.Time { return e.now }
	e.hist = history.New(objects, history.Retention{}, clock)
	e.restore = &restorer{env: e}
	e.c = rollout.New(rollout.Options{Objects: objects, History: e.hist, Nodes: e.fleet, Restorer: e.restore, Clock: clock,
		Logger: slog.New(slog.DiscardHandler), OnHalt: func(_ int64, why string) { e.halts = append(e.halts, why) }})
	return e
}

// publish stands for the publisher: a snapshot, its record, latest.json.
func (e *env) publish(hash string) snapshot.Pointer {
	e.t.Helper()
	e.rev++
	ctx := context.Background()
	name := hash
	svc := model.NewService()
	svc.ID, svc.Name, svc.Host = "11111111-1111-4111-8111-111111111111", &name, hash+".internal"
	doc := &snapshot.Document{ClusterID: testID.ClusterID, Epoch: testID.Epoch, Revision: e.rev, Config: model.Config{Services: []*model.Service{svc}}}
	_, key, err := snapshot.GenerateKey()
	require.NoError(e.t, err)
	data, ptr, err := snapshot.Seal(doc, key, e.now)
	require.NoError(e.t, err)
	_, err = e.objects.Put(ctx, ptr.Key, data, objstore.Condition{})
	require.NoError(e.t, err)
	require.NoError(e.t, e.hist.Put(ctx, history.Record{Revision: e.rev, CreatedAt: e.now.Unix(), ConfigHash: hash,
		ClusterID: testID.ClusterID, Epoch: testID.Epoch, State: history.StatePublished}))
	raw, _ := json.Marshal(ptr)
	_, err = e.objects.Put(ctx, snapshot.LatestKey, raw, objstore.Condition{})
	require.NoError(e.t, err)
	return ptr
}

func (e *env) step() {
	e.t.Helper()
	_, err := e.c.Step(context.Background())
	require.NoError(e.t, err)
}

// released returns the revision released to each of canary, main.
func (e *env) released() []int64 {
	e.t.Helper()
	raw, _, err := e.objects.Get(context.Background(), wave.ReleasedKey)
	require.NoError(e.t, err)
	r, err := wave.Parse(raw)
	require.NoError(e.t, err)
	var out []int64
	for _, w := range r.Waves {
		out = append(out, w.Pointer.Revision)
	}
	return out
}

// apply makes the data planes of a ring run rev, with traffic.
func (e *env) apply(ring string, rev, requests, errs int64) {
	for id := range e.fleet.nodes {
		if strings.HasPrefix(id, ring) {
			e.fleet.set(id, func(n *cluster.Node) {
				n.Revision, n.ClusterID, n.Epoch, n.State, n.Requests, n.Errors5xx = rev, testID.ClusterID, testID.Epoch, "applied", requests, errs
			})
		}
	}
}

func (e *env) rollouts() []rollout.Rollout {
	rs, err := e.c.Rollouts(context.Background())
	require.NoError(e.t, err)
	return rs
}

var policy = rollout.Policy{
	Waves:  []rollout.WaveSpec{{Selector: "ring:canary", BakeSeconds: 60}, {Selector: "*", BakeSeconds: 0}},
	HaltOn: rollout.HaltOn{Rejected: true, ErrorRatio5xx: 0.05, MinAckShare: 0.9, AckTimeoutSeconds: 120},
}

func TestWavesBakeAndComplete(t *testing.T) {
	t.Parallel()
	for _, b := range []struct {
		name string
		env  func(*testing.T) *env
	}{{"directory", newEnv}, {"s3", newS3Env}} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			testWavesBakeAndComplete(t, b.env(t))
		})
	}
}

func testWavesBakeAndComplete(t *testing.T, e *env) {
	e.publish("a")
	require.NoError(t, e.c.SetPolicy(context.Background(), policy))
	e.step()
	require.Equal(t, []int64{1, 1}, e.released(), "a new policy starts from what is published")
	e.apply("canary", 1, 0, 0)
	e.apply("main", 1, 0, 0)

	e.publish("b")
	e.step()
	require.Equal(t, []int64{2, 1}, e.released(), "wave 1 at once")
	e.now = e.now.Add(59 * time.Second)
	e.apply("canary", 2, 100, 1)
	e.step()
	require.Equal(t, []int64{2, 1}, e.released(), "not before the bake")
	e.now = e.now.Add(time.Second)
	e.step()
	require.Equal(t, []int64{2, 1}, e.released(), "not before a report covers the bake")
	e.fleet.set("canary-1", func(n *cluster.Node) { n.UpdatedAt = e.now.Unix() })
	e.step()
	require.Equal(t, []int64{2, 2}, e.released(), "after the bake, the next wave")
	r := e.rollouts()[0]
	require.Equal(t, rollout.StateCompleted, r.State, "the last wave bakes 0 s")
	require.Equal(t, 1, r.Waves[0].DataPlanes)
	require.Equal(t, 1, r.Waves[0].Acked)
	require.EqualValues(t, 100, r.Waves[0].Requests)
	require.Empty(t, e.halts)
}

func TestHaltConditions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc  string
		after func(e *env)
		why   string
	}{
		{"rejected", func(e *env) {
			e.fleet.set("canary-1", func(n *cluster.Node) { n.State, n.RejectedRevision = "rejected", 2 })
		}, "rejected revision 2"},
		{"5xx ratio", func(e *env) { e.apply("canary", 2, 100, 6) }, "5xx ratio 0.060"},
		{"too few requests for a ratio, then acks time out", func(e *env) {
			e.apply("canary", 2, 5, 5)
			e.step()
			require.Empty(e.t, e.halts)
			e.apply("canary", 1, 0, 0)
			e.now = e.now.Add(2 * time.Minute)
		}, "0 of 1 data planes acknowledged"},
		{"halt through the Admin API", func(e *env) {
			_, err := e.c.Halt(context.Background(), 2)
			require.NoError(e.t, err)
		}, "Admin API"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.publish("a")
			require.NoError(t, e.c.SetPolicy(context.Background(), policy))
			e.step()
			e.apply("canary", 1, 0, 0)
			e.apply("main", 1, 0, 0)
			e.publish("b")
			e.step()
			tc.after(e)
			e.step()
			require.Len(t, e.halts, 1)
			require.Contains(t, e.halts[0], tc.why)
			r := e.rollouts()[0]
			require.Equal(t, rollout.StateHalted, r.State)
			require.Contains(t, r.HaltReason, tc.why)
			require.EqualValues(t, 1, r.RollbackTo)
			require.EqualValues(t, 3, r.RollbackRevision, "the last good configuration committed as revision 3")
			require.Len(t, e.restore.cfgs, 1)
			require.Equal(t, "a.internal", e.restore.cfgs[0].Services[0].Host)
			require.Equal(t, []int64{2, 1}, e.released(), "main never gets revision 2")

			// Revision 3 holds the configuration every wave ran: it
			// goes to every wave at once.
			e.publish("a")
			e.step()
			require.Equal(t, []int64{3, 3}, e.released())
			require.True(t, e.rollouts()[0].Rollback)
			e.now = e.now.Add(time.Hour)
			e.step()
			require.Len(t, e.halts, 1, "halted once")
		})
	}
}

func TestPromoteAndPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	_, err := e.c.Policy(ctx)
	require.ErrorIs(t, err, rollout.ErrNoPolicy)
	e.publish("a")
	require.NoError(t, e.c.SetPolicy(ctx, policy))
	e.step()
	e.publish("b")
	e.step()
	_, err = e.c.Promote(ctx, 7)
	require.ErrorIs(t, err, rollout.ErrNoRollout)
	_, err = e.c.Promote(ctx, 2)
	require.NoError(t, err)
	e.step()
	require.Equal(t, []int64{2, 2}, e.released(), "promoted without the bake")
	_, err = e.c.Halt(ctx, 2)
	require.ErrorIs(t, err, rollout.ErrNotInProgress)

	// A newer revision supersedes one still baking.
	e.publish("c")
	e.step()
	e.publish("d")
	e.step()
	rs := e.rollouts()
	require.Equal(t, rollout.StateSuperseded, rs[1].State)
	require.Equal(t, []int64{4, 2}, e.released())

	require.NoError(t, e.c.DeletePolicy(ctx))
	changed, err := e.c.Step(ctx)
	require.NoError(t, err)
	require.True(t, changed)
	_, _, err = e.objects.Get(ctx, wave.ReleasedKey)
	require.ErrorIs(t, err, objstore.ErrNotFound, "without a policy, data planes follow latest.json")
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc, body string
		field      string
	}{
		{"the issue's example", `{"waves": [{"selector": "ring:canary", "bake_seconds": 60}, {"selector": "*", "bake_seconds": 0}], "halt_on": {"rejected": true, "error_ratio_5xx": 0.05, "min_ack_share": 0.9, "ack_timeout_seconds": 60}}`, ""},
		{"no waves", `{"waves": []}`, "waves"},
		{"bad selector", `{"waves": [{"selector": "canary"}]}`, "waves.1.selector"},
		{"twice", `{"waves": [{"selector": "*"}, {"selector": "*"}]}`, "waves.2.selector"},
		{"negative bake", `{"waves": [{"selector": "*", "bake_seconds": -1}]}`, "waves.1.bake_seconds"},
		{"ratio", `{"waves": [{"selector": "*"}], "halt_on": {"error_ratio_5xx": 2}}`, "halt_on.error_ratio_5xx"},
		{"unknown field", `{"waves": [{"selector": "*"}], "halt": {}}`, "@entity"},
		{"not json", `waves`, "@entity"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := rollout.ParsePolicy(strings.NewReader(tc.body))
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var pe *rollout.PolicyError
			require.ErrorAs(t, err, &pe)
			require.Contains(t, pe.Fields, tc.field)
			require.ErrorIs(t, err, rollout.ErrPolicy)
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	objects, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	def := rollout.Policy{Waves: []rollout.WaveSpec{{Selector: "*"}}}
	c := rollout.New(rollout.Options{Objects: objects, Default: &def})
	got, err := c.Policy(ctx)
	require.NoError(t, err)
	require.Equal(t, def, got)
	require.NoError(t, c.SetPolicy(ctx, policy))
	got, err = c.Policy(ctx)
	require.NoError(t, err)
	require.Equal(t, policy, got, "the Admin API's policy overrides the default")
	require.NoError(t, c.DeletePolicy(ctx))
	got, err = c.Policy(ctx)
	require.NoError(t, err)
	require.Equal(t, def, got)
}

// TestReportGrace: a wave whose data planes send no report after the bake
// (an unchanged status is not written) is promoted ReportGrace later.
func TestReportGrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.publish("a")
	require.NoError(t, e.c.SetPolicy(context.Background(), policy))
	e.step()
	e.publish("b")
	e.step()
	e.apply("canary", 2, 0, 0)
	e.now = e.now.Add(60*time.Second + rollout.ReportGrace*time.Second - time.Second)
	e.step()
	require.Equal(t, []int64{2, 1}, e.released())
	e.now = e.now.Add(time.Second)
	e.step()
	require.Equal(t, []int64{2, 2}, e.released())
}
