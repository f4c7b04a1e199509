package plugins_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/redisserver"
)

// limitUpstream reports, in X-Kong-Limit, the usage the request asks for
// in X-Want-Limit.
func limitUpstream(t *testing.T) (string, int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("X-Want-Limit"); v != "" {
			w.Header().Set("X-Kong-Limit", v)
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("video bytes"))
	}))
	t.Cleanup(srv.Close)
	return splitHostPort(t, srv.Listener.Addr().String())
}

// videosKey is Kong's counter key of the global "videos" limit.
func videosKey(identifier, period string) string {
	const none = "00000000-0000-0000-0000-000000000000"
	return "response-ratelimit:" + none + ":" + none + ":" + identifier + ":" +
		strconv.FormatInt(counters.WindowStart(period, fixedNow()), 10) + ":videos:" + period
}

// fixedNow keeps every request of a test in the same windows.
func fixedNow() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }

func TestEndToEndResponseRateLimiting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		policy map[string]any
	}{
		{desc: "local", policy: map[string]any{}},
		{desc: "redis", policy: map[string]any{"policy": "redis"}},
		{desc: "cluster", policy: map[string]any{"policy": "cluster"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			conf := map[string]any{"limits": map[string]any{
				"videos": map[string]any{"minute": 3, "hour": 10},
				"images": map[string]any{"minute": 100},
			}}
			for k, v := range tc.policy {
				conf[k] = v
			}
			redises := counters.NewRedises()
			t.Cleanup(func() { _ = redises.Close() })
			var cluster *counters.Cluster
			local := counters.NewMemory(fixedNow)
			var store counters.Store = local
			switch conf["policy"] {
			case "redis":
				srv := redisserver.Start(t)
				conf["redis"] = map[string]any{"host": srv.Host, "port": srv.Port}
				store = redises.For(counters.RedisConfig{Host: srv.Host, Port: srv.Port, Timeout: 2000})
			case "cluster":
				moto := motoserver.Start(t)
				client := dynamodb.NewFromConfig(moto.SerialConfig())
				require.NoError(t, counters.CreateTable(context.Background(), client, "response-counters"))
				cluster = counters.NewCluster(counters.NewDynamoDB(client, "response-counters", fixedNow), nil)
				t.Cleanup(cluster.Close)
				store = cluster.Store(0)
			}
			host, port := limitUpstream(t)
			cfg := snapshot(t, host, port, false)
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-rrl", "response-ratelimiting", conf)}
			front := serveRegistry(t, cfg, plugins.RegistryWith(plugins.Options{Counters: local, Redis: redises, Cluster: cluster, Now: fixedNow}))
			get := func(usage string) (*http.Response, string) {
				h := http.Header{}
				if usage != "" {
					h.Set("X-Want-Limit", usage)
				}
				return raw(t, front, http.MethodGet, front.URL+"/api/v", h)
			}

			// The usage is counted after the response, as Kong's log phase
			// does: wait for it before the next request.
			counted := func(want int64) {
				t.Helper()
				key := videosKey("127.0.0.1", "minute")
				require.Eventually(t, func() bool {
					v, err := store.Get(context.Background(), []string{key})
					return err == nil && v[0] == want
				}, 30*time.Second, 10*time.Millisecond)
			}

			res, body := get("videos=2, images=1")
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Equal(t, "video bytes", body)
			require.Empty(t, res.Header.Get("X-Kong-Limit"), "the usage header is not passed on")
			require.Equal(t, "3", res.Header.Get("X-RateLimit-Limit-videos-minute"))
			require.Equal(t, "1", res.Header.Get("X-RateLimit-Remaining-videos-minute"))
			require.Equal(t, "8", res.Header.Get("X-RateLimit-Remaining-videos-hour"))
			require.Equal(t, "99", res.Header.Get("X-RateLimit-Remaining-images-minute"))
			require.Equal(t, "3", res.Header.Get("X-RateLimit-Remaining-videos"), "before this response")
			counted(2)

			res, _ = get("videos=2")
			require.Equal(t, http.StatusOK, res.StatusCode, "1 remained: the response is let through")
			require.Equal(t, "0", res.Header.Get("X-RateLimit-Remaining-videos-minute"))
			counted(4)

			res, _ = get("images=1")
			require.Equal(t, http.StatusOK, res.StatusCode, "images are not used up")
			require.Equal(t, "0", res.Header.Get("X-RateLimit-Remaining-videos-minute"))

			res, body = get("videos=1")
			require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "videos are used up")
			require.Empty(t, body)
			require.Equal(t, "0", res.Header.Get("Content-Length"))
			require.Empty(t, res.Header.Get("X-Kong-Limit"))
		})
	}
}

func TestEndToEndResponseRateLimitingBlockFirst(t *testing.T) {
	t.Parallel()
	host, port := limitUpstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-rrl", "response-ratelimiting", map[string]any{
		"block_on_first_violation": true, "hide_client_headers": true,
		"limits": map[string]any{"videos": map[string]any{"month": 1}},
	})}
	local := counters.NewMemory(fixedNow)
	front := serveRegistry(t, cfg, plugins.RegistryWith(plugins.Options{Counters: local, Now: fixedNow}))
	h := http.Header{"X-Want-Limit": {"videos=1"}}
	res, _ := raw(t, front, http.MethodGet, front.URL+"/api/v", h)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Eventually(t, func() bool {
		v, err := local.Get(context.Background(), []string{videosKey("127.0.0.1", "month")})
		return err == nil && v[0] == 1
	}, 30*time.Second, 10*time.Millisecond, "counted after the response")
	require.Empty(t, res.Header.Get("X-RateLimit-Remaining-videos-minute"), "hidden")
	res, body := raw(t, front, http.MethodGet, front.URL+"/api/v", h)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	require.JSONEq(t, plugintest.ErrorJSON("API rate limit exceeded for 'videos'"), withRequestID(body, res))
}
