package proxy_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/freeport"
	"github.com/skyport-gw/skyport/internal/model"
)

// deadAddr returns a loopback address that refuses every connection
// for the rest of the test.
func deadAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", refusingPort(t))
}

// refusingPort returns a loopback port that refuses every connection for
// the rest of the test, and that no other test's listener can take.
func refusingPort(t *testing.T) int {
	t.Helper()
	port, release, err := freeport.Refusing()
	require.NoError(t, err)
	t.Cleanup(release)
	return port
}

// syncBuffer is a buffer safe for concurrent writes (the access log).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func upstreamOf(name string, targets ...string) (*model.Upstream, []*model.Target) {
	u := model.NewUpstream()
	u.ID, u.Name = name+"-id", name
	var ts []*model.Target
	for i, addr := range targets {
		tg := model.NewTarget()
		tg.ID, tg.Target, tg.Upstream = name+"-t"+string(rune('0'+i)), addr, &model.Ref{ID: u.ID}
		ts = append(ts, tg)
	}
	return u, ts
}

func TestUpstreamErrors(t *testing.T) {
	t.Parallel()
	// The slow upstream answers only when the proxy gave up on it (or
	// after a minute): a read timeout of 100ms is always reached first,
	// however long the proxy waits for a CPU.
	slow := newBackend(t, "slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Minute):
		case <-r.Context().Done():
		}
	}))
	alive := newBackend(t, "alive", nil)
	dead := deadAddr(t)
	_, deadPort, _ := net.SplitHostPort(dead)
	port, err := strconv.Atoi(deadPort)
	require.NoError(t, err)

	timeoutSvc := service("slow", slow.host(), slow.port(), "")
	timeoutSvc.ReadTimeout = 100
	refused := service("refused", "127.0.0.1", port, "")
	refused.Retries = 2
	mixedUp, mixedTargets := upstreamOf("mixed.up", dead, alive.addr)
	allDeadUp, allDeadTargets := upstreamOf("dead.up", dead, deadAddr(t))
	noneUp, _ := upstreamOf("none.up")
	slowUp, slowTargets := upstreamOf("slowmix.up", slow.addr, alive.addr)
	slowMix := service("slowmix", "slowmix.up", 80, "")
	slowMix.ReadTimeout = 100
	noService := route("orphan", "", "/orphan")
	noService.Service = nil
	cfg := &model.Config{
		Services: []*model.Service{timeoutSvc, refused,
			service("mixed", "mixed.up", 80, ""), service("alldead", "dead.up", 80, ""),
			service("none", "none.up", 80, ""), service("nxdomain", "nonexistent.invalid", 80, ""), slowMix},
		Routes: []*model.Route{route("slow", "slow", "/slow"), route("refused", "refused", "/refused"),
			route("mixed", "mixed", "/mixed"), route("alldead", "alldead", "/alldead"),
			route("none", "none", "/none"), route("nxdomain", "nxdomain", "/nxdomain"), noService,
			route("slowmix", "slowmix", "/slowmix")},
		Upstreams: []*model.Upstream{mixedUp, allDeadUp, noneUp, slowUp},
		Targets:   append(append(mixedTargets, allDeadTargets...), slowTargets...),
	}
	logs := &syncBuffer{}
	_, front := newProxy(t, cfg, func(o *proxy.Options) { o.AccessLog = slog.New(slog.NewJSONHandler(logs, nil)) })

	// Kong answers an upstream that failed or timed out through nginx's
	// error page (kong/error_handlers.lua: Accept, else the request's
	// Content-Type, else error_default_type, text/plain), what it refuses
	// itself through kong.response.error (kong/runloop/handler.lua: JSON
	// without Accept). Both carry the request id.
	tests := []struct {
		desc, path string
		status     int
		message    string
		page       bool // nginx's error page, not kong.response.error
		proxied    bool // the upstream was tried: its latencies, not the response's
	}{
		{"read timeout", "/slow", http.StatusGatewayTimeout, "The upstream server is timing out", true, true},
		{"connection refused after retries", "/refused", http.StatusBadGateway, "An invalid response was received from the upstream server", true, true},
		{"every target refuses", "/alldead", http.StatusBadGateway, "An invalid response was received from the upstream server", true, true},
		{"upstream without targets", "/none", http.StatusServiceUnavailable, "failure to get a peer from the ring-balancer", false, false},
		{"name resolution", "/nxdomain", http.StatusServiceUnavailable, "name resolution failed", false, false},
		// kong/init.lua: kong.response.error(503, "no Service found with those values").
		{"route without service", "/orphan", http.StatusServiceUnavailable, "no Service found with those values", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			res, e := get(t, front, tc.path)
			assert.Equal(t, tc.status, res.StatusCode)
			assert.Equal(t, "skyport/test", res.Header.Get("Server"))
			assert.Regexp(t, `^[0-9a-f]{32}$`, res.Header.Get("X-Kong-Request-Id"))
			if tc.page {
				assert.Equal(t, kongPlain(res, tc.message), e.Body)
				assert.Equal(t, "text/plain; charset=utf-8", res.Header.Get("Content-Type"))
			} else {
				assert.Equal(t, kongJSON(res, tc.message), e.Body)
				assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
			}
			// kong/runloop/handler.lua header_filter.after: a proxied
			// request reports its latencies and Via, any other the
			// response latency (spec/02-integration/05-proxy/14-server_tokens_spec.lua).
			if tc.proxied {
				assert.NotEmpty(t, res.Header.Get("X-Kong-Upstream-Latency"))
				assert.NotEmpty(t, res.Header.Get("X-Kong-Proxy-Latency"))
				assert.Equal(t, "1.1 skyport/test", res.Header.Get("Via"))
				assert.Empty(t, res.Header.Get("X-Kong-Response-Latency"))
			} else {
				assert.NotEmpty(t, res.Header.Get("X-Kong-Response-Latency"))
				assert.Empty(t, res.Header.Get("X-Kong-Upstream-Latency"))
			}
			// Accept picks the format of either kind.
			res, e = get(t, front, tc.path, "Accept", "application/json")
			assert.Equal(t, kongJSON(res, tc.message), e.Body)
			// Without Accept, an error page follows the request's
			// Content-Type; kong.response.error does not.
			res, e = get(t, front, tc.path, "Content-Type", "application/xml")
			if tc.page {
				assert.Equal(t, "application/xml; charset=utf-8", res.Header.Get("Content-Type"))
				assert.Contains(t, e.Body, "<message>"+tc.message+"</message>")
			} else {
				assert.Equal(t, kongJSON(res, tc.message), e.Body)
			}
		})
	}
	t.Run("retried on another target", func(t *testing.T) {
		for range 4 {
			res, e := get(t, front, "/mixed")
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, "alive", e.Backend)
		}
		assert.Contains(t, logs.String(), `"retries":1`)
	})
	t.Run("timeouts retried for idempotent methods only", func(t *testing.T) {
		// Round-robin over [slow, alive]: the POST lands on slow first.
		req, err := http.NewRequest(http.MethodPost, front.URL+"/slowmix", nil)
		require.NoError(t, err)
		res, err := front.Client().Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusGatewayTimeout, res.StatusCode, "POST is not sent twice")
		before := slow.hits.Load()
		for range 2 {
			res, e := get(t, front, "/slowmix")
			require.Equal(t, http.StatusOK, res.StatusCode, "GET: a slow target times out, the next one answers")
			assert.Equal(t, "alive", e.Backend)
		}
		assert.Equal(t, before+1, slow.hits.Load(), "one GET went to the slow target first")
	})
	assert.Contains(t, logs.String(), `"retries":2`, "the refused service was retried twice")

	t.Run("access log leaves credentials out", func(t *testing.T) {
		res, _ := get(t, front, "/mixed/x?apikey=query-secret", "Authorization", "Bearer header-secret")
		require.Equal(t, http.StatusOK, res.StatusCode)
		out := logs.String()
		assert.Contains(t, out, `"path":"/mixed/x"`)
		assert.NotContains(t, out, "query-secret")
		assert.NotContains(t, out, "header-secret")
	})
}
