package status_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/status"
	"github.com/skyport-gw/skyport/dataplane/upstream"
)

// source is a data plane state the test sets directly.
type source struct {
	rev   int64
	hash  string
	ready bool
}

func (s *source) Current() (int64, string) { return s.rev, s.hash }
func (s *source) Ready() bool              { return s.ready }
func (s *source) LastApply() time.Time     { return time.Unix(1700000000, 0) }
func (s *source) Health() []upstream.TargetHealth {
	return []upstream.TargetHealth{{Upstream: "u", Target: "10.0.0.1:80", Weight: 100, Healthy: true},
		{Upstream: "u", Target: "10.0.0.2:80", Weight: 100, Healthy: false}}
}

type reporter struct{}

func (reporter) SyncState() status.SyncState {
	return status.SyncState{CP: "connected", Source: "cp", RejectedRevision: 7, Cache: "lost", CacheError: "cache file missing",
		Deltas: 5, DeltaFallbacks: 1}
}

func call(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestReady(t *testing.T) {
	t.Parallel()
	src := &source{}
	h, err := status.New(src, nil, status.NewMetrics())
	require.NoError(t, err)
	code, body := call(t, h, "/status/ready")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.JSONEq(t, `{"message":"no configuration available"}`, body)
	src.ready = true
	code, body = call(t, h, "/status/ready")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"message":"ready"}`, body)
}

// rejecting reports a refused revision.
type rejecting struct{ rev int64 }

func (r rejecting) SyncState() status.SyncState {
	return status.SyncState{CP: "connected", RejectedRevision: r.rev, LastError: "plugin 'x' not installed"}
}

// TestReadyRevision: /status/ready?revision=N answers 200 only once
// revision N or a newer one runs, and says which one runs otherwise.
func TestReadyRevision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		src    source
		sync   status.SyncReporter
		query  string
		status int
		body   string
	}{
		{"no configuration", source{}, nil, "?revision=1", http.StatusServiceUnavailable,
			`{"message":"no configuration available"}`},
		{"older revision", source{rev: 4, ready: true}, nil, "?revision=5", http.StatusServiceUnavailable,
			`{"message":"revision 5 not applied yet: running revision 4","revision":4}`},
		{"that revision", source{rev: 5, ready: true}, nil, "?revision=5", http.StatusOK, `{"message":"ready"}`},
		{"newer revision", source{rev: 6, ready: true}, nil, "?revision=5", http.StatusOK, `{"message":"ready"}`},
		{"refused revision", source{rev: 4, ready: true}, rejecting{5}, "?revision=5", http.StatusServiceUnavailable,
			`{"message":"revision 5 not applied: running revision 4, refused revision 5: plugin 'x' not installed","revision":4,"rejected_revision":5}`},
		{"older refusal", source{rev: 4, ready: true}, rejecting{3}, "?revision=5", http.StatusServiceUnavailable,
			`{"message":"revision 5 not applied yet: running revision 4","revision":4}`},
		{"revision zero", source{rev: 1, ready: true}, nil, "?revision=0", http.StatusOK, `{"message":"ready"}`},
		{"not a number", source{rev: 1, ready: true}, nil, "?revision=latest", http.StatusBadRequest,
			`{"message":"revision: expected a non-negative integer"}`},
		{"negative", source{rev: 1, ready: true}, nil, "?revision=-1", http.StatusBadRequest,
			`{"message":"revision: expected a non-negative integer"}`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			h, err := status.New(&tt.src, tt.sync, status.NewMetrics())
			require.NoError(t, err)
			code, body := call(t, h, "/status/ready"+tt.query)
			assert.Equal(t, tt.status, code)
			assert.JSONEq(t, tt.body, body)
		})
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		sync status.SyncReporter
		want string
	}{
		{"without sync", nil, `{"server":{"connections_accepted":0,"connections_active":0,"connections_handled":0,
			"connections_reading":0,"connections_waiting":0,"connections_writing":0,"total_requests":1},
			"configuration_hash":"0123456789abcdef0123456789abcdef","revision":42}`},
		{"with sync", reporter{}, `{"server":{"connections_accepted":0,"connections_active":0,"connections_handled":0,
			"connections_reading":0,"connections_waiting":0,"connections_writing":0,"total_requests":1},
			"configuration_hash":"0123456789abcdef0123456789abcdef","revision":42,
			"sync":{"cp":"connected","source":"cp","last_apply":"0001-01-01T00:00:00Z","rejected_revision":7,
			"cache":"lost","cache_error":"cache file missing","deltas_applied":5,"delta_fallbacks":1}}`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			m := status.NewMetrics()
			m.ObserveRequest("svc", "route", 200, time.Millisecond, time.Millisecond)
			h, err := status.New(&source{rev: 42, hash: "0123456789abcdef0123456789abcdef", ready: true}, tc.sync, m)
			require.NoError(t, err)
			code, body := call(t, h, "/status")
			assert.Equal(t, http.StatusOK, code)
			assert.JSONEq(t, tc.want, body)
		})
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	m := status.NewMetrics()
	h, err := status.New(&source{rev: 42, hash: "x", ready: true}, reporter{}, m)
	require.NoError(t, err)
	m.ObserveRequest("orders", "orders-api", 200, 12*time.Millisecond, 2*time.Millisecond)
	m.ObserveRequest("orders", "orders-api", 502, 0, time.Millisecond)
	code, body := call(t, h, "/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`skyport_http_requests_total{code="200",route="orders-api",service="orders"} 1`,
		`skyport_http_requests_total{code="502",route="orders-api",service="orders"} 1`,
		`skyport_upstream_latency_ms_count{service="orders"} 1`,
		`skyport_proxy_latency_ms_count{service="orders"} 2`,
		`skyport_upstream_target_health{target="10.0.0.1:80",upstream="u"} 1`,
		`skyport_upstream_target_health{target="10.0.0.2:80",upstream="u"} 0`,
		`skyport_config_revision 42`,
		`skyport_config_last_apply_timestamp_seconds 1.7e+09`,
		`skyport_sync_connected 1`,
		`skyport_sync_source{cp="connected",source="cp"} 1`,
		`skyport_requests_total 2`,
		`skyport_sync_deltas_total{outcome="applied"} 5`,
		`skyport_sync_deltas_total{outcome="fallback"} 1`,
		`go_goroutines`,
	} {
		assert.Contains(t, body, want)
	}
	_, err = status.New(&source{}, nil, m)
	assert.Error(t, err, "a Metrics serves one status API")
}

func TestConnectionCounters(t *testing.T) {
	t.Parallel()
	m := status.NewMetrics()
	h, err := status.New(&source{ready: true}, nil, m)
	require.NoError(t, err)
	release := make(chan struct{})
	inHandler := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			inHandler <- struct{}{}
			<-release
		}
	}))
	srv.Config.ConnState = m.ConnState
	srv.Start()
	defer srv.Close()

	readStatus := func() status.Status {
		_, body := call(t, h, "/status")
		var st status.Status
		require.NoError(t, json.Unmarshal([]byte(body), &st))
		return st
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := http.Get(srv.URL + "/block")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}()
	<-inHandler
	st := readStatus()
	assert.Equal(t, int64(1), st.Server.ConnectionsAccepted)
	assert.Equal(t, int64(1), st.Server.ConnectionsActive)
	assert.Equal(t, int64(1), st.Server.ConnectionsWriting)
	close(release)
	<-done
	require.Eventually(t, func() bool { return readStatus().Server.ConnectionsWaiting == 1 }, time.Minute, 10*time.Millisecond)
	srv.CloseClientConnections()
	require.Eventually(t, func() bool {
		s := readStatus().Server
		return s.ConnectionsActive == 0 && s.ConnectionsWaiting == 0
	}, 5*time.Second, 10*time.Millisecond)
}

// A connection's tracker (ConnTracker) counts as ConnState does for the
// same changes, without looking the connection up.
func TestConnTrackerMatchesConnState(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		states []http.ConnState
	}{
		{"new", []http.ConnState{http.StateNew}},
		{"serving", []http.ConnState{http.StateNew, http.StateActive}},
		{"kept alive", []http.ConnState{http.StateNew, http.StateActive, http.StateIdle, http.StateActive, http.StateIdle}},
		{"closed idle", []http.ConnState{http.StateNew, http.StateActive, http.StateIdle, http.StateClosed}},
		{"closed serving", []http.ConnState{http.StateNew, http.StateActive, http.StateClosed}},
		{"hijacked", []http.ConnState{http.StateNew, http.StateActive, http.StateHijacked}},
		{"closed unread", []http.ConnState{http.StateNew, http.StateClosed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			byState, byTracker := status.NewMetrics(), status.NewMetrics()
			// Two connections, one left open, so a change of the other
			// shows against a count that is not zero.
			open, c := &net.TCPConn{}, &net.TCPConn{}
			byState.ConnState(open, http.StateNew)
			byTracker.ConnTracker(open)(http.StateNew)
			tell := byTracker.ConnTracker(c)
			for _, s := range tc.states {
				byState.ConnState(c, s)
				tell(s)
			}
			want := serverStatus(t, byState)
			assert.Equal(t, want, serverStatus(t, byTracker))
		})
	}
}

// serverStatus is /status's server counters of m.
func serverStatus(t *testing.T, m *status.Metrics) any {
	t.Helper()
	h, err := status.New(&source{ready: true}, nil, m)
	require.NoError(t, err)
	_, body := call(t, h, "/status")
	var st status.Status
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	return st.Server
}
