package plugins_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
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
			if conf["policy"] == "redis" {
				srv := redisserver.Start(t)
				conf["redis"] = map[string]any{"host": srv.Host, "port": srv.Port}
			}
			host, port := limitUpstream(t)
			cfg := snapshot(t, host, port, false)
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-rrl", "response-ratelimiting", conf)}
			front := serveRegistry(t, cfg, plugins.RegistryWith(plugins.Options{Redis: redises, Now: fixedNow}))
			get := func(usage string) (*http.Response, string) {
				h := http.Header{}
				if usage != "" {
					h.Set("X-Want-Limit", usage)
				}
				return raw(t, front, http.MethodGet, front.URL+"/api/v", h)
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

			res, _ = get("videos=2")
			require.Equal(t, http.StatusOK, res.StatusCode, "1 remained: the response is let through")
			require.Equal(t, "0", res.Header.Get("X-RateLimit-Remaining-videos-minute"))

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
		"limits": map[string]any{"videos": map[string]any{"second": 1, "minute": 1}},
	})}
	front := serveRegistry(t, cfg, plugins.RegistryWith(plugins.Options{Now: fixedNow}))
	h := http.Header{"X-Want-Limit": {"videos=1"}}
	res, _ := raw(t, front, http.MethodGet, front.URL+"/api/v", h)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Empty(t, res.Header.Get("X-RateLimit-Remaining-videos-minute"), "hidden")
	res, body := raw(t, front, http.MethodGet, front.URL+"/api/v", h)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	require.JSONEq(t, plugintest.ErrorJSON("API rate limit exceeded for 'videos'"), withRequestID(body, res))
}
