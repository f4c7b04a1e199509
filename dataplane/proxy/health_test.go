package proxy_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

func healthOf(px *proxy.Server, target string) bool {
	for _, h := range px.Health() {
		if h.Target == target {
			return h.Healthy
		}
	}
	return false
}

// spread sends n requests and counts the backends that answered.
func spread(t *testing.T, front interface{ Client() *http.Client }, url string, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		res, err := front.Client().Get(url)
		require.NoError(t, err)
		var e echo
		if res.StatusCode == http.StatusOK {
			require.NoError(t, jsonDecode(res, &e))
			seen[e.Backend]++
		} else {
			seen[res.Status]++
		}
		res.Body.Close()
	}
	return seen
}

func TestHealthChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		setup func(hc *model.Healthchecks)
	}{
		{
			desc: "active probes take a target out and bring it back",
			setup: func(hc *model.Healthchecks) {
				hc.Active.HTTPPath = "/health"
				hc.Active.Timeout = 0.5
				hc.Active.Healthy.Interval = 0.05
				hc.Active.Healthy.Successes = 1
				hc.Active.Unhealthy.Interval = 0.05
				hc.Active.Unhealthy.TCPFailures = 1
				hc.Active.Unhealthy.HTTPFailures = 1
				hc.Active.Unhealthy.Timeouts = 1
			},
		},
		{
			desc: "passive checks take a target out, active probes of unhealthy targets bring it back",
			setup: func(hc *model.Healthchecks) {
				hc.Passive.Unhealthy.TCPFailures = 1
				hc.Active.Unhealthy.Interval = 0.05
				hc.Active.Healthy.Successes = 1
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			b1, b2, b3 := newBackend(t, "b1", nil), newBackend(t, "b2", nil), newBackend(t, "b3", nil)
			u, targets := upstreamOf("hc.up", b1.addr, b2.addr, b3.addr)
			tc.setup(&u.Healthchecks)
			cfg := &model.Config{
				Services:  []*model.Service{service("s", "hc.up", 80, "")},
				Routes:    []*model.Route{route("r", "s", "/")},
				Upstreams: []*model.Upstream{u},
				Targets:   targets,
			}
			px, front := newProxy(t, cfg)
			assert.Equal(t, map[string]int{"b1": 2, "b2": 2, "b3": 2}, spread(t, front, front.URL+"/", 6))

			b2.stop()
			// Passive checks learn from traffic: the failed attempt is retried
			// on another target, so no client sees an error.
			eventually(t, "b2 unhealthy", func() bool {
				spread(t, front, front.URL+"/", 3)
				return !healthOf(px, b2.addr)
			})
			seen := spread(t, front, front.URL+"/", 6)
			assert.Zero(t, seen["b2"], "b2 is out of rotation")
			assert.Equal(t, 6, seen["b1"]+seen["b3"], "no request failed: %v", seen)

			b2.start()
			eventually(t, "b2 healthy again", func() bool { return healthOf(px, b2.addr) })
			seen = spread(t, front, front.URL+"/", 6)
			assert.GreaterOrEqual(t, seen["b2"], 1, "b2 is back in rotation: %v", seen)
			assert.Equal(t, 6, seen["b1"]+seen["b2"]+seen["b3"], "no request failed: %v", seen)
		})
	}
}

func TestConsistentHashing(t *testing.T) {
	t.Parallel()
	b1, b2, b3 := newBackend(t, "b1", nil), newBackend(t, "b2", nil), newBackend(t, "b3", nil)
	u, targets := upstreamOf("hash.up", b1.addr, b2.addr, b3.addr)
	u.Algorithm, u.HashOn, u.HashOnHeader = "consistent-hashing", "header", ptr("X-Account")
	u.HashFallback = "cookie"
	u.HashOnCookie = ptr("sticky")
	cfg := &model.Config{
		Services:  []*model.Service{service("s", "hash.up", 80, "")},
		Routes:    []*model.Route{route("r", "s", "/")},
		Upstreams: []*model.Upstream{u},
		Targets:   targets,
	}
	_, front := newProxy(t, cfg)
	backends := map[string]bool{}
	for i := range 30 {
		account := fmt.Sprintf("acct-%d", i)
		_, first := get(t, front, "/", "X-Account", account)
		for range 3 {
			_, again := get(t, front, "/", "X-Account", account)
			require.Equal(t, first.Backend, again.Backend, account)
		}
		backends[first.Backend] = true
	}
	assert.Len(t, backends, 3, "keys spread over every target")

	res, _ := get(t, front, "/")
	var sticky *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "sticky" {
			sticky = c
		}
	}
	require.NotNil(t, sticky, "a hashing cookie is handed out")
	_, first := get(t, front, "/", "Cookie", "sticky="+sticky.Value)
	for range 3 {
		_, again := get(t, front, "/", "Cookie", "sticky="+sticky.Value)
		assert.Equal(t, first.Backend, again.Backend)
	}
}
