package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// swapConfig routes /a to the upstream of b1 and b2 (round-robin) and /b
// to b3, with a revision-specific route so every revision differs.
func swapConfig(rev int, b1, b2, b3 *backend) *model.Config {
	u, targets := upstreamOf("swap.up", b1.addr, b2.addr)
	extra := route(fmt.Sprintf("extra-%d", rev), "direct", fmt.Sprintf("/rev-%d", rev))
	return &model.Config{
		Services:  []*model.Service{service("pooled", "swap.up", 80, ""), service("direct", b3.host(), b3.port(), "")},
		Routes:    []*model.Route{route("a", "pooled", "/a"), route("b", "direct", "/b"), extra},
		Upstreams: []*model.Upstream{u},
		Targets:   targets,
	}
}

func TestHotSwapUnderLoad(t *testing.T) {
	t.Parallel()
	b1, b2, b3 := newBackend(t, "b1", nil), newBackend(t, "b2", nil), newBackend(t, "b3", nil)
	px, front := newProxy(t, swapConfig(0, b1, b2, b3))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()

	ctx, cancel := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			path := []string{"/a/x", "/b/y"}[w%2]
			for ctx.Err() == nil {
				res, err := client.Get(front.URL + path)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, res.Status)
					continue
				}
				ok.Add(1)
			}
		})
	}
	for rev := 1; rev <= 100; rev++ {
		cfg := swapConfig(rev, b1, b2, b3)
		require.NoError(t, px.Apply(context.Background(), cfg, int64(rev), "test"))
		gotRev, hash := px.Current()
		require.Equal(t, int64(rev), gotRev)
		require.Equal(t, snapshot.ConfigHash(cfg), hash)
		start := ok.Load()
		eventually(t, "requests on the new configuration", func() bool { return ok.Load() > start+2 })
	}
	cancel()
	wg.Wait()
	assert.Zero(t, failed.Load(), "failed requests (first: %v)", firstErr.Load())
	assert.Greater(t, ok.Load(), int64(300))
}

func TestBadConfigurationRefused(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	good := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("r", "s", "/")},
	}
	reg := plugin.NewRegistry()
	reg.Register("failing", func(plugin.Env) (plugin.Handler, error) { return nil, errors.New("bad config") })

	badRegex := &model.Config{Services: good.Services, Routes: []*model.Route{route("r", "s", "~/(unclosed")}}
	_, orphanTargets := upstreamOf("ghost.up", b.addr)
	unknownUpstream := &model.Config{Services: good.Services, Routes: good.Routes, Targets: orphanTargets}
	unknownService := &model.Config{Services: good.Services, Routes: []*model.Route{route("r", "nope", "/")}}
	missingPlugin := &model.Config{Services: good.Services, Routes: good.Routes,
		Plugins: []*model.Plugin{{Base: model.Base{ID: "p1"}, Name: "not-installed", Enabled: true}}}
	failingPlugin := &model.Config{Services: good.Services, Routes: good.Routes,
		Plugins: []*model.Plugin{{Base: model.Base{ID: "p2"}, Name: "failing", Enabled: true}}}
	badTarget := &model.Config{Services: good.Services, Routes: good.Routes,
		Upstreams: []*model.Upstream{model.NewUpstream()}}
	badTarget.Upstreams[0].ID, badTarget.Upstreams[0].Name = "u", "u"
	tg := model.NewTarget()
	tg.Target, tg.Upstream = "host:99999", &model.Ref{ID: "u"}
	badTarget.Targets = []*model.Target{tg}

	px, front := newProxy(t, good, func(o *proxy.Options) { o.Registry = reg })
	_, wantHash := px.Current()
	tests := []struct {
		desc string
		cfg  *model.Config
		is   error
	}{
		{"invalid regex", badRegex, router.ErrInvalidRegex},
		{"unknown service", unknownService, router.ErrUnknownService},
		{"target of an unknown upstream", unknownUpstream, nil},
		{"plugin not on this data plane", missingPlugin, plugin.ErrIncompatible},
		{"plugin refusing its configuration", failingPlugin, nil},
		{"invalid target port", badTarget, nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			err := px.Apply(context.Background(), tc.cfg, 2, "test")
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			rev, hash := px.Current()
			assert.Equal(t, int64(1), rev)
			assert.Equal(t, wantHash, hash)
			res, e := get(t, front, "/still")
			assert.Equal(t, http.StatusOK, res.StatusCode, "the old configuration keeps serving")
			assert.Equal(t, "/still", e.URI)
		})
	}
}

func TestSwapStopsHealthCheckers(t *testing.T) {
	t.Parallel()
	var probes atomic.Int64
	b := newBackend(t, "b", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/probe" {
			probes.Add(1)
		}
	}))
	u, targets := upstreamOf("probed.up", b.addr)
	u.Healthchecks.Active.HTTPPath = "/probe"
	u.Healthchecks.Active.Healthy.Interval = 0.02
	withChecks := &model.Config{
		Services:  []*model.Service{service("s", "probed.up", 80, "")},
		Routes:    []*model.Route{route("r", "s", "/")},
		Upstreams: []*model.Upstream{u},
		Targets:   targets,
	}
	px, _ := newProxy(t, withChecks)
	eventually(t, "active probes", func() bool { return probes.Load() >= 3 })

	without := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), "")},
		Routes:   []*model.Route{route("r", "s", "/")},
	}
	require.NoError(t, px.Apply(context.Background(), without, 2, "test"))
	var last int64 = -1
	eventually(t, "probes to stop", func() bool {
		n := probes.Load()
		stable := n == last
		last = n
		time.Sleep(100 * time.Millisecond)
		return stable
	})
	assert.Empty(t, px.Health())
}
