package upstream_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/upstream"
	"github.com/skyport-gw/skyport/internal/model"
)

func newPool(t *testing.T, algorithm string, weights map[string]int, edit ...func(*model.Upstream)) *upstream.Pool {
	t.Helper()
	u := model.NewUpstream()
	u.ID, u.Name, u.Algorithm = "u", "u.internal", algorithm
	for _, f := range edit {
		f(u)
	}
	var targets []*model.Target
	for name, w := range weights {
		tg := model.NewTarget()
		tg.Target, tg.Weight, tg.Upstream = name, w, &model.Ref{ID: u.ID}
		targets = append(targets, tg)
	}
	p, err := upstream.New(u, targets, upstream.Options{})
	require.NoError(t, err)
	return p
}

func picks(t *testing.T, p *upstream.Pool, n int, key func(i int) string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := range n {
		tg, err := p.Pick(key(i), nil)
		require.NoError(t, err)
		out[tg.Name]++
		tg.Done(0)
	}
	return out
}

func none(int) string { return "" }

func TestWeightedRoundRobin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		weights map[string]int
		want    map[string]int
	}{
		{"equal", map[string]int{"10.0.0.1:80": 100, "10.0.0.2:80": 100}, map[string]int{"10.0.0.1:80": 50, "10.0.0.2:80": 50}},
		{"weighted", map[string]int{"10.0.0.1:80": 300, "10.0.0.2:80": 100}, map[string]int{"10.0.0.1:80": 75, "10.0.0.2:80": 25}},
		{"weight 0 disables", map[string]int{"10.0.0.1:80": 100, "10.0.0.2:80": 0}, map[string]int{"10.0.0.1:80": 100}},
		{"default port", map[string]int{"10.0.0.1": 100}, map[string]int{"10.0.0.1:" + defaultPort: 100}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, picks(t, newPool(t, "round-robin", tc.weights), 100, none))
		})
	}
}

func TestPickSkipsTriedAndUnhealthy(t *testing.T) {
	t.Parallel()
	p := newPool(t, "round-robin", map[string]int{"10.0.0.1:80": 100, "10.0.0.2:80": 100, "10.0.0.3:80": 100})
	first, err := p.Pick("", nil)
	require.NoError(t, err)
	second, err := p.Pick("", []*upstream.Target{first})
	require.NoError(t, err)
	assert.NotEqual(t, first, second)

	require.True(t, p.SetHealthy("10.0.0.1:80", false))
	require.True(t, p.SetHealthy("10.0.0.2:80", false))
	assert.Equal(t, map[string]int{"10.0.0.3:80": 10}, picks(t, p, 10, none))
	require.True(t, p.SetHealthy("10.0.0.3:80", false))
	_, err = p.Pick("", nil)
	assert.ErrorIs(t, err, upstream.ErrNoHealthyTarget)
}

func TestLeastConnections(t *testing.T) {
	t.Parallel()
	p := newPool(t, "least-connections", map[string]int{"10.0.0.1:80": 100, "10.0.0.2:80": 100})
	busy, err := p.Pick("", nil)
	require.NoError(t, err)
	for range 5 {
		tg, err := p.Pick("", nil)
		require.NoError(t, err)
		tg.Done(0)
		assert.NotEqual(t, busy.Name, tg.Name, "the target with a request in flight is avoided")
	}
}

func TestConsistentHashingRing(t *testing.T) {
	t.Parallel()
	weights := map[string]int{"10.0.0.1:80": 100, "10.0.0.2:80": 100, "10.0.0.3:80": 100}
	p := newPool(t, "consistent-hashing", weights)
	owner := map[string]string{}
	for i := range 300 {
		key := fmt.Sprintf("user-%d", i)
		tg, err := p.Pick(key, nil)
		require.NoError(t, err)
		owner[key] = tg.Name
	}
	spread := map[string]int{}
	for _, o := range owner {
		spread[o]++
	}
	for name, n := range spread {
		assert.Greater(t, n, 50, "target %s owns a fair share", name)
	}
	// Losing a target moves only its keys.
	require.True(t, p.SetHealthy("10.0.0.2:80", false))
	for key, o := range owner {
		tg, err := p.Pick(key, nil)
		require.NoError(t, err)
		if o != "10.0.0.2:80" {
			assert.Equal(t, o, tg.Name, key)
		} else {
			assert.NotEqual(t, o, tg.Name, key)
		}
	}
}

func TestHashKey(t *testing.T) {
	t.Parallel()
	in := &upstream.HashInput{Consumer: "c-1", ClientIP: "192.0.2.1", Path: "/p",
		Header: http.Header{"X-Account": {"acct"}, "Cookie": {"sticky=abc"}}, Query: "q=1&q=2",
		Captures: map[string]string{"id": "42"}}
	tests := []struct {
		desc string
		edit func(*model.Upstream)
		want string
	}{
		{"consumer", func(u *model.Upstream) { u.HashOn = "consumer" }, "c-1"},
		{"ip", func(u *model.Upstream) { u.HashOn = "ip" }, "192.0.2.1"},
		{"header", func(u *model.Upstream) { u.HashOn, u.HashOnHeader = "header", ptr("X-Account") }, "acct"},
		{"cookie", func(u *model.Upstream) { u.HashOn, u.HashOnCookie = "cookie", ptr("sticky") }, "abc"},
		{"path", func(u *model.Upstream) { u.HashOn = "path" }, "/p"},
		{"query_arg", func(u *model.Upstream) { u.HashOn, u.HashOnQueryArg = "query_arg", ptr("q") }, "1,2"},
		{"uri_capture", func(u *model.Upstream) { u.HashOn, u.HashOnURICapture = "uri_capture", ptr("id") }, "42"},
		{"fallback", func(u *model.Upstream) {
			u.HashOn, u.HashOnHeader, u.HashFallback = "header", ptr("X-Missing"), "ip"
		}, "192.0.2.1"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			p := newPool(t, "consistent-hashing", map[string]int{"10.0.0.1:80": 100}, tc.edit)
			key, cookie := p.HashKey(in)
			assert.Equal(t, tc.want, key)
			assert.Nil(t, cookie)
		})
	}
	t.Run("missing cookie is created", func(t *testing.T) {
		p := newPool(t, "consistent-hashing", map[string]int{"10.0.0.1:80": 100}, func(u *model.Upstream) {
			u.HashOn, u.HashOnCookie = "cookie", ptr("other")
		})
		key, cookie := p.HashKey(in)
		require.NotNil(t, cookie)
		assert.Equal(t, key, cookie.Value)
		assert.Equal(t, "other="+key+"; Path=/", cookie.String())
	})
}

func TestPassiveHealthCounters(t *testing.T) {
	t.Parallel()
	p := newPool(t, "round-robin", map[string]int{"10.0.0.1:80": 100}, func(u *model.Upstream) {
		u.Healthchecks.Passive.Unhealthy.HTTPFailures = 3
		u.Healthchecks.Passive.Unhealthy.Timeouts = 2
		u.Healthchecks.Passive.Healthy.Successes = 2
	})
	tg, err := p.Pick("", nil)
	require.NoError(t, err)
	tg.Done(0)

	p.Report(tg, upstream.Response, 500)
	p.Report(tg, upstream.Response, 500)
	p.Report(tg, upstream.Response, 200) // a success resets the failures
	p.Report(tg, upstream.Response, 500)
	p.Report(tg, upstream.Response, 404) // neither healthy nor unhealthy
	assert.True(t, tg.Healthy())
	p.Report(tg, upstream.Response, 503)
	p.Report(tg, upstream.Response, 429)
	assert.False(t, tg.Healthy(), "three http failures in a row")

	p.Report(tg, upstream.Response, 200)
	assert.False(t, tg.Healthy())
	p.Report(tg, upstream.Response, 200)
	assert.True(t, tg.Healthy(), "two successes")

	p.Report(tg, upstream.Timeout, 0)
	p.Report(tg, upstream.TCPFailure, 0) // tcp_failures is 0: not counted
	p.Report(tg, upstream.Timeout, 0)
	assert.False(t, tg.Healthy(), "two timeouts")
	assert.Equal(t, []upstream.TargetHealth{{Upstream: "u.internal", UpstreamID: "u", Target: "10.0.0.1:80", Weight: 100, Healthy: false, Checked: true}}, p.Health(),
		"the passive check makes the target checked")
}

func TestThreshold(t *testing.T) {
	t.Parallel()
	p := newPool(t, "round-robin", map[string]int{"10.0.0.1:80": 100, "10.0.0.2:80": 100}, func(u *model.Upstream) {
		u.Healthchecks.Threshold = 60
	})
	_, err := p.Pick("", nil)
	require.NoError(t, err)
	p.SetHealthy("10.0.0.1:80", false)
	_, err = p.Pick("", nil)
	assert.ErrorIs(t, err, upstream.ErrNoHealthyTarget, "50%% healthy is below the 60%% threshold")
}

func ptr[T any](v T) *T { return &v }

// defaultPort is a target's port when it names none.
var defaultPort = strconv.Itoa(model.DefaultTargetPort)

func TestTargetResolution(t *testing.T) {
	t.Parallel()
	p := newPool(t, "round-robin", map[string]int{"LOCALHOST:8080": 100, "[::1]": 100})
	got := map[string]string{}
	for range 2 {
		tg, err := p.Pick("", nil)
		require.NoError(t, err)
		addr, err := tg.Addr(t.Context(), nil)
		require.NoError(t, err)
		got[tg.Name] = addr
		tg.Done(0)
	}
	assert.Equal(t, "[::1]:"+defaultPort, got["[::1]:"+defaultPort])
	assert.Contains(t, []string{"127.0.0.1:8080", "[::1]:8080"}, got["localhost:8080"])
}
