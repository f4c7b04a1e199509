package ratelimiting

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
)

// sharedStore is a shared counter store that fails with err, or counts
// every key at 1.
type sharedStore struct{ err error }

func (s sharedStore) Get(context.Context, []string) ([]int64, error) { return nil, s.err }

func (s sharedStore) Add(_ context.Context, incs []counters.Increment) ([]int64, error) {
	if s.err != nil {
		return nil, s.err
	}
	vals := make([]int64, len(incs))
	for i := range vals {
		vals[i] = 1
	}
	return vals, nil
}

// TestSharedStoreErrorTakesNoState: a request whose shared store fails
// (answered 500, or proxied when fault tolerant) takes no per-request
// state from headersPool, so none is lost to it; one counted takes
// one (the count shows the test sees the pool). Not parallel: it counts what the
// pool makes, which the package's parallel tests would make too (they
// run after it).
func TestSharedStoreErrorTakesNoState(t *testing.T) {
	made := 0
	prevNew := headersPool.New
	headersPool.New = func() any { made++; return new(headers) }
	t.Cleanup(func() { headersPool.New = prevNew })
	now := time.Date(2026, 3, 4, 5, 6, 40, 0, time.UTC)
	for _, tc := range []struct {
		desc          string
		err           error
		faultTolerant bool
		wantStatus    int // 0: proxied
		wantMade      bool
	}{
		{desc: "store fails", err: errors.New("redis down"), wantStatus: http.StatusInternalServerError},
		{desc: "store fails, fault tolerant", err: errors.New("redis down"), faultTolerant: true},
		{desc: "counted", wantMade: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			cfg := plugintest.Fixture()
			p := plugintest.Plugin(t, "p1", Name, map[string]any{"minute": 5, "hour": 10, "fault_tolerant": tc.faultTolerant})
			h, err := NewFactory(NewStoreClock(func() time.Time { return now }), Shared{})(plugin.Env{Config: cfg, Plugin: p})
			require.NoError(t, err)
			rl := h.(*RateLimiting)
			rl.remote = sharedStore{err: tc.err}
			// Two collections empty the pool (its victim cache too).
			runtime.GC()
			runtime.GC()
			made = 0
			for range 20 {
				pc := plugin.NewContext(cfg.Routes[0], cfg.Services[0], nil, "10.0.0.1")
				resp := rl.Access(pc, httptest.NewRequest(http.MethodGet, "/", nil))
				if tc.wantStatus == 0 {
					require.Nil(t, resp)
				} else {
					require.NotNil(t, resp)
					require.Equal(t, tc.wantStatus, resp.Status)
				}
				pc.Release()
			}
			require.Equal(t, tc.wantMade, made > 0, "states made: %d", made)
		})
	}
}
