package backoff_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/sync/backoff"
)

func TestPolicyDelayWithinBounds(t *testing.T) {
	t.Parallel()
	p := backoff.Policy{Base: time.Second, Cap: time.Minute}
	r := rand.New(rand.NewPCG(1, 2))
	for attempt := range 20 {
		ceiling := p.Ceiling(attempt)
		var maxSeen time.Duration
		for range 500 {
			d := p.Delay(attempt, r)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, ceiling)
			require.LessOrEqual(t, d, p.Cap)
			maxSeen = max(maxSeen, d)
		}
		// Full jitter spreads over the whole range: with 500 draws the
		// largest lands in the top half.
		require.Greater(t, maxSeen, ceiling/2, "attempt %d", attempt)
	}
}

func TestPolicyCeilingGrows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		attempt int
		want    time.Duration
	}{
		{desc: "first retry", attempt: 0, want: time.Second},
		{desc: "second retry doubles", attempt: 1, want: 2 * time.Second},
		{desc: "fifth retry", attempt: 5, want: 32 * time.Second},
		{desc: "capped", attempt: 6, want: time.Minute},
		{desc: "stays capped", attempt: 1000, want: time.Minute},
	}
	p := backoff.Policy{Base: time.Second, Cap: time.Minute}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, p.Ceiling(tt.attempt))
		})
	}
}

func TestPolicyZeroNeverWaits(t *testing.T) {
	t.Parallel()
	require.Zero(t, backoff.Policy{}.Delay(3, nil))
}

func TestJitterWithinFraction(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	d := 30 * time.Second
	for range 1000 {
		j := backoff.Jitter(d, 0.2, r)
		require.GreaterOrEqual(t, j, 24*time.Second)
		require.LessOrEqual(t, j, 36*time.Second)
	}
	require.Equal(t, d, backoff.Jitter(d, 0, r))
}
