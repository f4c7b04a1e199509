package ratelimiting

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

func build(t *testing.T, store *Store, id string, conf map[string]any, now time.Time) (*plugin.Set, *model.Config) {
	t.Helper()
	store.now = func() time.Time { return now }
	cfg := plugintest.Fixture()
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, id, Name, conf)}
	set, err := plugin.Build(plugintest.Registry(Name, NewFactory(store, Shared{})), cfg)
	require.NoError(t, err)
	return set, cfg
}

func TestLimits(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 40, 0, time.UTC)
	store := NewStore()
	set, cfg := build(t, store, "p1", map[string]any{"minute": 3, "hour": 10}, now)
	var res plugintest.Result
	for i := 0; i < 3; i++ {
		res = plugintest.RunSet(set, cfg, httptest.NewRequest(http.MethodGet, "/", nil), nil)
		require.Nil(t, res.Response, "request %d", i)
	}
	require.Equal(t, "3", res.Header.Get("X-RateLimit-Limit-Minute"))
	require.Equal(t, "0", res.Header.Get("X-RateLimit-Remaining-Minute"))
	require.Equal(t, "10", res.Header.Get("X-RateLimit-Limit-Hour"))
	require.Equal(t, "7", res.Header.Get("X-RateLimit-Remaining-Hour"))
	require.Equal(t, "3", res.Header.Get("RateLimit-Limit"))
	require.Equal(t, "0", res.Header.Get("RateLimit-Remaining"))
	require.Equal(t, "20", res.Header.Get("RateLimit-Reset"))

	res = plugintest.RunSet(set, cfg, httptest.NewRequest(http.MethodGet, "/", nil), nil)
	require.NotNil(t, res.Response)
	require.Equal(t, http.StatusTooManyRequests, res.Response.Status)
	// kong/plugins/rate-limiting/handler.lua: kong.response.error.
	require.Equal(t, plugintest.ErrorJSON("API rate limit exceeded"), string(res.Response.Body))
	require.Equal(t, "20", res.Header.Get("Retry-After"))
	require.Equal(t, "0", res.Header.Get("X-RateLimit-Remaining-Minute"))

	// A new snapshot keeping the instance id keeps the counts.
	set2, cfg2 := build(t, store, "p1", map[string]any{"minute": 3, "hour": 10}, now)
	res = plugintest.RunSet(set2, cfg2, httptest.NewRequest(http.MethodGet, "/", nil), nil)
	require.NotNil(t, res.Response, "counters carried over")

	// The next minute window starts afresh.
	set3, cfg3 := build(t, store, "p1", map[string]any{"minute": 3, "hour": 10}, now.Add(30*time.Second))
	res = plugintest.RunSet(set3, cfg3, httptest.NewRequest(http.MethodGet, "/", nil), nil)
	require.Nil(t, res.Response)
	require.Equal(t, "2", res.Header.Get("X-RateLimit-Remaining-Minute"))
	require.Equal(t, "6", res.Header.Get("X-RateLimit-Remaining-Hour"))

	// A new instance id starts from zero.
	set4, cfg4 := build(t, store, "p2", map[string]any{"minute": 3}, now)
	res = plugintest.RunSet(set4, cfg4, httptest.NewRequest(http.MethodGet, "/", nil), nil)
	require.Equal(t, "2", res.Header.Get("X-RateLimit-Remaining-Minute"))
	require.Len(t, store.byPlugin, 1, "counters of removed instances dropped")
}

func TestOptions(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	tests := []struct {
		desc  string
		conf  map[string]any
		check func(t *testing.T, set *plugin.Set, cfg *model.Config)
	}{
		{desc: "hidden headers and custom error", conf: map[string]any{"second": 1, "hide_client_headers": true, "error_code": 503, "error_message": "slow down"},
			check: func(t *testing.T, set *plugin.Set, cfg *model.Config) {
				res := plugintest.RunSet(set, cfg, httptest.NewRequest(http.MethodGet, "/", nil), nil)
				require.Nil(t, res.Response)
				require.Empty(t, res.Header.Get("X-RateLimit-Limit-Second"))
				res = plugintest.RunSet(set, cfg, httptest.NewRequest(http.MethodGet, "/", nil), nil)
				require.NotNil(t, res.Response)
				require.Equal(t, 503, res.Response.Status)
				require.Equal(t, plugintest.ErrorJSON("slow down"), string(res.Response.Body))
				require.Empty(t, res.Header.Get("X-RateLimit-Limit-Second"))
				// kong/plugins/rate-limiting/handler.lua stores Retry-After
				// under `if not conf.hide_client_headers` too.
				require.Empty(t, res.Header.Get("Retry-After"))
			}},
		{desc: "limit by header", conf: map[string]any{"minute": 2, "limit_by": "header", "header_name": "x-tenant"},
			check: func(t *testing.T, set *plugin.Set, cfg *model.Config) {
				plugintest.RunSet(set, cfg, httptest.NewRequest(http.MethodGet, "/", nil), nil)
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.Header.Set("X-Tenant", "t1")
				res := plugintest.RunSet(set, cfg, r, nil)
				require.Equal(t, "1", res.Header.Get("X-RateLimit-Remaining-Minute"), "separate from the ip bucket")
			}},
		{desc: "day window", conf: map[string]any{"day": 5},
			check: func(t *testing.T, set *plugin.Set, cfg *model.Config) {
				res := plugintest.RunSet(set, cfg, httptest.NewRequest(http.MethodGet, "/", nil), nil)
				require.Equal(t, "4", res.Header.Get("X-RateLimit-Remaining-Day"))
				require.Equal(t, "68040", res.Header.Get("RateLimit-Reset"))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			set, cfg := build(t, NewStore(), "p1", tt.conf, now)
			tt.check(t, set, cfg)
		})
	}
}

func TestWindowStart(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 800, time.UTC)
	want := map[period]time.Time{
		second: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		minute: time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC),
		hour:   time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC),
		day:    time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC),
		month:  time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		year:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for p, w := range want {
		require.Equal(t, w.Unix(), windowStart(p, now), periodNames[p])
	}
	require.Equal(t, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Unix(), windowEnd(month, want[month].Unix()))
}

func TestSweep(t *testing.T) {
	t.Parallel()
	c := newCounters()
	limits := [numPeriods]int64{second: 5}
	now := time.Unix(1000, 0)
	var u [numPeriods]usage
	c.take("a", &limits, now, &u)
	sh := &c.shards[0]
	for i := range c.shards {
		if len(c.shards[i].buckets) > 0 {
			sh = &c.shards[i]
		}
	}
	sh.sweep(now.Unix())
	require.Len(t, sh.buckets, 1, "live window kept")
	sh.sweep(now.Unix() + 2)
	require.Empty(t, sh.buckets, "ended window dropped")
}

func TestConcurrentCounts(t *testing.T) {
	t.Parallel()
	c := newCounters()
	limits := [numPeriods]int64{minute: 500}
	now := time.Unix(6000, 0)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 8 {
		wg.Go(func() {
			var u [numPeriods]usage
			for range 100 {
				if stop, _ := c.take("same-caller", &limits, now, &u); stop >= 0 {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 300, refused.Load(), "exactly the limit is let through")
}
