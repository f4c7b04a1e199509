package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/internal/wave"
	"github.com/skyport-gw/skyport/lambdas/cluster"
)

const (
	connID = "BkHn3cXXIAMCJfw="
	nodeID = "0f6f3c3e-6a53-4d0e-9a43-3b1a4ff0c9a1"
)

// postRecorder is a Notifier that records posts and answers ErrGone for
// the connections in gone.
type postRecorder struct {
	mu    sync.Mutex
	posts map[string][][]byte
	gone  map[string]bool
}

func newRecorder(gone ...string) *postRecorder {
	r := &postRecorder{posts: map[string][][]byte{}, gone: map[string]bool{}}
	for _, g := range gone {
		r.gone[g] = true
	}
	return r
}

func (r *postRecorder) Post(_ context.Context, id string, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone[id] {
		return fmt.Errorf("posting: %w", cluster.ErrGone)
	}
	r.posts[id] = append(r.posts[id], payload)
	return nil
}

// notices returns the config notices posted to id.
func (r *postRecorder) notices(t *testing.T, id string) []protocol.ConfigNotice {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []protocol.ConfigNotice
	for _, p := range r.posts[id] {
		var n protocol.ConfigNotice
		require.NoError(t, json.Unmarshal(p, &n))
		out = append(out, n)
	}
	return out
}

// loadEvent reads a WebSocket event from testdata.
func loadEvent(t *testing.T, name string) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var ev events.APIGatewayWebsocketProxyRequest
	require.NoError(t, json.Unmarshal(data, &ev))
	return ev
}

// withBody returns ev with body replaced.
func withBody(ev events.APIGatewayWebsocketProxyRequest, body string) events.APIGatewayWebsocketProxyRequest {
	ev.Body = body
	return ev
}

// publish writes latest.json for revision rev.
func publish(t *testing.T, objects objstore.Store, rev int64) snapshot.Pointer {
	t.Helper()
	p := snapshot.Pointer{Revision: rev, Key: snapshot.Key(rev), SHA256: "00", Size: 1, Signature: "sig", Format: snapshot.Format}
	data, err := json.Marshal(p)
	require.NoError(t, err)
	_, err = objects.Put(context.Background(), snapshot.LatestKey, data, objstore.Condition{})
	require.NoError(t, err)
	return p
}

type fixture struct {
	h       *cluster.Handler
	reg     cluster.Registry
	objects objstore.Store
	posts   *postRecorder
	clk     *clock
}

func newFixture(t *testing.T, reg cluster.Registry, clk *clock, gone ...string) *fixture {
	t.Helper()
	objects, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	f := &fixture{reg: reg, objects: objects, posts: newRecorder(gone...), clk: clk}
	f.h = cluster.NewHandler(cluster.HandlerOptions{
		Registry: reg, Objects: objects, Notifier: f.posts, Clock: clk.Now,
	})
	return f
}

func (f *fixture) call(t *testing.T, ev events.APIGatewayWebsocketProxyRequest) int {
	t.Helper()
	resp, err := f.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	return resp.StatusCode
}

func TestHandlerLifecycle(t *testing.T) {
	ctx := context.Background()
	for _, kind := range registryKinds(t) {
		t.Run(kind.name, func(t *testing.T) {
			clk := newClock(start)
			f := newFixture(t, kind.make(t, clk), clk)

			require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "connect.json")))
			c, err := f.reg.GetConnection(ctx, connID)
			require.NoError(t, err)
			require.Equal(t, "203.0.113.7", c.IP)
			require.Equal(t, start.Add(cluster.DefaultConnectionTTL).Unix(), c.ExpiresAt)

			// The data plane runs revision 3; 5 is published: it is told at once.
			publish(t, f.objects, 5)
			clk.Advance(time.Second)
			require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "hello.json")))
			notices := f.posts.notices(t, connID)
			require.Len(t, notices, 1)
			require.Equal(t, protocol.ConfigNotice{Type: "config", Revision: 5, Key: snapshot.Key(5), SHA256: "00", Size: 1, Signature: "sig", Format: snapshot.Format}, notices[0])
			c, err = f.reg.GetConnection(ctx, connID)
			require.NoError(t, err)
			require.Equal(t, nodeID, c.NodeID)
			n, err := f.reg.GetNode(ctx, nodeID)
			require.NoError(t, err)
			require.Equal(t, "dp-1.example.internal", n.Hostname)
			require.Equal(t, map[string]string{"region": "eu-west-1", "tier": "edge"}, n.Labels)
			require.Equal(t, []string{"key-auth", "rate-limiting"}, n.Plugins)
			require.Equal(t, int64(3), n.Revision)
			require.Equal(t, start.Add(time.Second).Unix(), n.LastSeen)

			// It applies 5 and acks.
			clk.Advance(time.Second)
			require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "status.json")))
			page, err := f.reg.ListDataPlanes(ctx, cluster.ListOptions{})
			require.NoError(t, err)
			dps := page.Data
			require.Len(t, dps, 1)
			require.Equal(t, cluster.SyncNormal, dps[0].SyncStatus)
			require.Equal(t, int64(5), dps[0].Revision)
			require.Equal(t, "a3c5e7f90b1d2e3f4a5b6c7d8e9f0a1b", dps[0].ConfigHash)

			// 6 is published and rejected: a later hello does not resend it.
			publish(t, f.objects, 6)
			nack := `{"action":"status","node_id":"` + nodeID + `","revision":5,"config_hash":"a3c5e7f90b1d2e3f4a5b6c7d8e9f0a1b","state":"rejected","error":"plugin_set_incompatible: acme","rejected_revision":6}`
			require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "status.json"), nack)))
			hello5 := `{"action":"hello","node_id":"` + nodeID + `","revision":5}`
			require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "hello.json"), hello5)))
			require.Len(t, f.posts.notices(t, connID), 1, "a rejected revision is not sent again")
			page, err = f.reg.ListDataPlanes(ctx, cluster.ListOptions{})
			require.NoError(t, err)
			dps = page.Data
			require.Equal(t, cluster.SyncPluginSetIncompatible, dps[0].SyncStatus)

			// 7 is newer: the next hello gets it.
			publish(t, f.objects, 7)
			require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "hello.json"), hello5)))
			notices = f.posts.notices(t, connID)
			require.Len(t, notices, 2)
			require.Equal(t, int64(7), notices[1].Revision)

			require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "disconnect.json")))
			_, err = f.reg.GetConnection(ctx, connID)
			require.ErrorIs(t, err, cluster.ErrNotFound)
			_, err = f.reg.GetNode(ctx, nodeID)
			require.NoError(t, err, "the data plane's row outlives its connection")
		})
	}
}

func TestHandlerHelloGoneDeletesConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(start)
	f := newFixture(t, cluster.NewMemory(clk.Now), clk, connID)
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "connect.json")))
	publish(t, f.objects, 9)
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "hello.json")))
	_, err := f.reg.GetConnection(ctx, connID)
	require.ErrorIs(t, err, cluster.ErrNotFound)
}

func TestHandlerRejectsBadInput(t *testing.T) {
	t.Parallel()
	noConn := loadEvent(t, "hello.json")
	noConn.RequestContext.ConnectionID = ""
	noIdentity := loadEvent(t, "connect.json")
	noIdentity.RequestContext.Identity.SourceIP = ""
	hello := loadEvent(t, "hello.json")
	status := loadEvent(t, "status.json")
	tests := []struct {
		desc string
		ev   events.APIGatewayWebsocketProxyRequest
		code int
	}{
		{desc: "missing connection id", ev: noConn, code: http.StatusBadRequest},
		{desc: "connect without identity", ev: noIdentity, code: http.StatusForbidden},
		{desc: "unknown action", ev: loadEvent(t, "default.json"), code: http.StatusBadRequest},
		{desc: "hello not JSON", ev: withBody(hello, "hello?"), code: http.StatusBadRequest},
		{desc: "hello without node id", ev: withBody(hello, `{"action":"hello","revision":1}`), code: http.StatusBadRequest},
		{desc: "status with unknown state", ev: withBody(status, `{"action":"status","node_id":"n","state":"maybe"}`), code: http.StatusBadRequest},
		{desc: "status with a wrong type", ev: withBody(status, `{"action":"status","node_id":"n","revision":"five"}`), code: http.StatusBadRequest},
		{desc: "node id too long", ev: withBody(hello, `{"action":"hello","node_id":"`+strings.Repeat("n", 129)+`"}`), code: http.StatusBadRequest},
		{desc: "node id with a control character", ev: withBody(hello, `{"action":"hello","node_id":"a\nb"}`), code: http.StatusBadRequest},
		{desc: "hostname too long", ev: withBody(hello, `{"action":"hello","node_id":"n","hostname":"`+strings.Repeat("h", 256)+`"}`), code: http.StatusBadRequest},
		{desc: "config hash too long", ev: withBody(status, `{"action":"status","node_id":"n","state":"applied","config_hash":"`+strings.Repeat("0", 65)+`"}`), code: http.StatusBadRequest},
		{desc: "cluster id not a UUID", ev: withBody(hello, `{"action":"hello","node_id":"n","cluster_id":"../x","epoch":1}`), code: http.StatusBadRequest},
		{desc: "cluster id without an epoch", ev: withBody(hello, `{"action":"hello","node_id":"n","cluster_id":"`+clusterA+`"}`), code: http.StatusBadRequest},
		{desc: "status with an unknown reason", ev: withBody(status, `{"action":"status","node_id":"n","state":"rejected","reason":"because"}`), code: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			clk := newClock(start)
			f := newFixture(t, cluster.NewMemory(clk.Now), clk)
			require.Equal(t, tt.code, f.call(t, tt.ev))
			conns, err := f.reg.ListConnections(context.Background())
			require.NoError(t, err)
			require.Empty(t, conns, "a rejected request changes nothing")
		})
	}
}

func TestHandlerStatusWithoutConnectRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(start)
	f := newFixture(t, cluster.NewMemory(clk.Now), clk)
	// The $connect row expired or was lost: a heartbeat recreates it.
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "status.json")))
	c, err := f.reg.GetConnection(ctx, connID)
	require.NoError(t, err)
	require.Equal(t, nodeID, c.NodeID)
	require.Equal(t, "203.0.113.7", c.IP)
	n, err := f.reg.GetNode(ctx, nodeID)
	require.NoError(t, err)
	require.Equal(t, protocol.StateApplied, n.State)
	require.Equal(t, start.Add(cluster.DefaultDataPlaneTTL).Unix(), n.ExpiresAt)
}

// TestHandlerBindsConnectionToNode: a connection speaks for the node of
// its first hello only; a status (or hello) naming another node is
// refused and changes no row, so a token holder cannot rewrite another
// data plane's row through its own connection.
func TestHandlerBindsConnectionToNode(t *testing.T) {
	ctx := context.Background()
	for _, kind := range registryKinds(t) {
		t.Run(kind.name, func(t *testing.T) {
			clk := newClock(start)
			f := newFixture(t, kind.make(t, clk), clk)
			victim := loadEvent(t, "hello.json")
			victim.RequestContext.ConnectionID = "victim-conn"
			victim.Body = `{"action":"hello","node_id":"victim","revision":7,"config_hash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`
			require.Equal(t, http.StatusOK, f.call(t, victim))
			require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "connect.json")))
			require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "hello.json")))
			before, err := f.reg.GetNode(ctx, "victim")
			require.NoError(t, err)

			forged := `{"action":"status","node_id":"victim","revision":1,"config_hash":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","state":"rejected","error":"forged"}`
			require.Equal(t, http.StatusForbidden, f.call(t, withBody(loadEvent(t, "status.json"), forged)))
			rehello := `{"action":"hello","node_id":"victim","revision":1}`
			require.Equal(t, http.StatusForbidden, f.call(t, withBody(loadEvent(t, "hello.json"), rehello)))
			after, err := f.reg.GetNode(ctx, "victim")
			require.NoError(t, err)
			require.Equal(t, before, after, "the other node's row is untouched")
			c, err := f.reg.GetConnection(ctx, connID)
			require.NoError(t, err)
			require.Equal(t, nodeID, c.NodeID)

			require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "status.json")), "its own node's status is accepted")
		})
	}
}

// TestHandlerNodeLimit: a credential cannot create rows past its limit,
// however many node ids its connections invent.
func TestHandlerNodeLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(start)
	f := newFixture(t, cluster.NewMemory(clk.Now, cluster.WithNodeLimit(3)), clk)
	hello := loadEvent(t, "hello.json")
	codes := map[int]int{}
	for i := range 10 {
		ev := withBody(hello, fmt.Sprintf(`{"action":"hello","node_id":"invented-%d"}`, i))
		ev.RequestContext.ConnectionID = fmt.Sprintf("conn-%d", i)
		codes[f.call(t, ev)]++
	}
	require.Equal(t, map[int]int{http.StatusOK: 3, http.StatusForbidden: 7}, codes)
	page, err := f.reg.ListDataPlanes(ctx, cluster.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Data, 3)

	// Another credential (the authorizer's principal) has its own rows.
	other := withBody(hello, `{"action":"hello","node_id":"from-iam"}`)
	other.RequestContext.ConnectionID = "conn-iam"
	other.RequestContext.Authorizer = map[string]any{"principalId": "arn:aws:iam::123456789012:role/edge"}
	require.Equal(t, http.StatusOK, f.call(t, other))
	n, err := f.reg.GetNode(ctx, "from-iam")
	require.NoError(t, err)
	require.Equal(t, "arn:aws:iam::123456789012:role/edge", n.Owner)
}

// TestHandlerStatusHealth: a status's target health is kept on the node's
// row, its malformed entries dropped, and replaced by the next status.
func TestHandlerStatusHealth(t *testing.T) {
	ctx := context.Background()
	up := "6f0d2b7e-3f7e-4c1a-9d3e-2b1f4c5d6e7f"
	for _, kind := range registryKinds(t) {
		t.Run(kind.name, func(t *testing.T) {
			clk := newClock(start)
			f := newFixture(t, kind.make(t, clk), clk)
			require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "connect.json")))
			require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "hello.json")))
			status := `{"action":"status","node_id":"` + nodeID + `","revision":3,"config_hash":"a3c5e7f90b1d2e3f4a5b6c7d8e9f0a1b","state":"applied","health":[` +
				`{"upstream_id":"` + up + `","target":"10.0.0.1:80","health":"HEALTHY"},` +
				`{"upstream_id":"` + up + `","target":"10.0.0.2:80","health":"SICK"},` +
				`{"upstream_id":"short","target":"10.0.0.3:80","health":"HEALTHY"}]}`
			require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "status.json"), status)))
			n, err := f.reg.GetNode(ctx, nodeID)
			require.NoError(t, err)
			require.Equal(t, []protocol.TargetHealth{{UpstreamID: up, Target: "10.0.0.1:80", Health: "HEALTHY"}}, n.Health)

			heartbeat := `{"action":"status","node_id":"` + nodeID + `","revision":3,"config_hash":"a3c5e7f90b1d2e3f4a5b6c7d8e9f0a1b","state":"applied"}`
			require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "status.json"), heartbeat)))
			n, err = f.reg.GetNode(ctx, nodeID)
			require.NoError(t, err)
			require.Empty(t, n.Health, "a status without targets clears them")
		})
	}
}

// TestHandlerStatusCatchesUpAStaleDataPlane: a data plane that missed a
// notice is told by the answer to its next status (a heartbeat), from a
// pointer at most LatestTTL old.
func TestHandlerStatusCatchesUpAStaleDataPlane(t *testing.T) {
	clk := newClock(start)
	f := newFixture(t, cluster.NewMemory(clk.Now), clk)
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "connect.json")))
	publish(t, f.objects, 5)
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "status.json")))
	require.Empty(t, f.posts.notices(t, connID), "a data plane at the published revision is not told")

	// 6 is published; the notice is lost. Within LatestTTL the pointer
	// read for the last status still serves.
	publish(t, f.objects, 6)
	clk.Advance(cluster.DefaultLatestTTL / 2)
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "status.json")))
	require.Empty(t, f.posts.notices(t, connID))

	clk.Advance(cluster.DefaultLatestTTL)
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "status.json")))
	notices := f.posts.notices(t, connID)
	require.Len(t, notices, 1, "the heartbeat of a data plane behind is answered with a notice")
	require.Equal(t, int64(6), notices[0].Revision)
}

// countingRegistry counts the writes to data-plane and connection rows.
type countingRegistry struct {
	cluster.Registry
	nodeWrites, binds int
}

func (r *countingRegistry) UpdateNode(ctx context.Context, nodeID, owner string, fn func(*cluster.Node)) error {
	r.nodeWrites++
	return r.Registry.UpdateNode(ctx, nodeID, owner, fn)
}

func (r *countingRegistry) BindConnection(ctx context.Context, c cluster.Connection) (cluster.Connection, error) {
	r.binds++
	return r.Registry.BindConnection(ctx, c)
}

// TestHandlerHeartbeatsWriteSparingly: an hour of 4-minute heartbeats that
// change nothing writes the row every other one, never stale in between;
// a status that changes something is written at once.
func TestHandlerHeartbeatsWriteSparingly(t *testing.T) {
	ctx := context.Background()
	clk := newClock(start)
	reg := &countingRegistry{Registry: cluster.NewMemory(clk.Now)}
	f := newFixture(t, reg, clk)
	publish(t, f.objects, 5)
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "connect.json")))
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "status.json")))
	require.Equal(t, 1, reg.nodeWrites)
	require.Equal(t, 1, reg.binds)
	for range 15 {
		clk.Advance(4 * time.Minute)
		require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "status.json")))
		page, err := reg.ListDataPlanes(ctx, cluster.ListOptions{})
		require.NoError(t, err)
		require.Equal(t, cluster.SyncNormal, page.Data[0].SyncStatus, "a heartbeating data plane is never stale")
	}
	require.Equal(t, 1+7, reg.nodeWrites, "every other heartbeat is written")
	require.Equal(t, 1, reg.binds, "a bound connection is read, not bound again")

	clk.Advance(time.Second)
	nack := `{"action":"status","node_id":"` + nodeID + `","revision":5,"config_hash":"a3c5e7f90b1d2e3f4a5b6c7d8e9f0a1b","state":"rejected","error":"bad","rejected_revision":6}`
	require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "status.json"), nack)))
	require.Equal(t, 1+7+1, reg.nodeWrites, "a change is written at once")
	n, err := reg.GetNode(ctx, nodeID)
	require.NoError(t, err)
	require.Equal(t, int64(6), n.RejectedRevision)
}

// TestHandlerTellsEachWaveItsPointer: under a rollout policy, hello and
// status catch a data plane up to its wave's pointer in released.json,
// never to latest.json beyond it.
func TestHandlerTellsEachWaveItsPointer(t *testing.T) {
	clk := newClock(start)
	f := newFixture(t, cluster.NewMemory(clk.Now), clk)
	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "connect.json")))
	latest := publish(t, f.objects, 7)
	held := latest
	held.Revision, held.Key = 5, snapshot.Key(5)
	raw, err := json.Marshal(wave.Released{Waves: []wave.Wave{
		{Selector: "tier:canary", Pointer: latest},
		{Selector: "*", Pointer: held},
	}})
	require.NoError(t, err)
	_, err = f.objects.Put(context.Background(), wave.ReleasedKey, raw, objstore.Condition{})
	require.NoError(t, err)

	require.Equal(t, http.StatusOK, f.call(t, loadEvent(t, "hello.json"))) // tier:edge, at 3
	notices := f.posts.notices(t, connID)
	require.Len(t, notices, 1)
	require.EqualValues(t, 5, notices[0].Revision, "its wave's pointer, not latest.json's")

	at5 := `{"action":"status","node_id":"` + nodeID + `","revision":5,"config_hash":"a3c5e7f90b1d2e3f4a5b6c7d8e9f0a1b","state":"applied","requests":40,"errors_5xx":2}`
	clk.Advance(cluster.DefaultLatestTTL * 2)
	require.Equal(t, http.StatusOK, f.call(t, withBody(loadEvent(t, "status.json"), at5)))
	require.Len(t, f.posts.notices(t, connID), 1, "a data plane at its wave's pointer is not told of latest.json")
	n, err := f.reg.GetNode(context.Background(), nodeID)
	require.NoError(t, err)
	require.EqualValues(t, 40, n.Requests)
	require.EqualValues(t, 2, n.Errors5xx)
}
