package backoff_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/sync/backoff"
)

// TestSessionSchedule walks a connection's life on an injected clock:
// heartbeats come at least every five minutes, and the planned reconnect
// comes before API Gateway's two-hour cap.
func TestSessionSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc      string
		heartbeat time.Duration
		lifetime  time.Duration
	}{
		{desc: "defaults", heartbeat: backoff.DefaultHeartbeat, lifetime: backoff.DefaultLifetime},
		{desc: "zero values take defaults", heartbeat: 0, lifetime: 0},
		{desc: "lifetime past the cap is clamped", heartbeat: time.Minute, lifetime: 3 * time.Hour},
		{desc: "short lifetime", heartbeat: 30 * time.Second, lifetime: 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(5, 6))
			for range 50 {
				start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
				s := backoff.NewSession(start, tt.heartbeat, tt.lifetime, r)
				now, beats := start, 0
				for {
					at, reconnect := s.Next(now)
					require.True(t, at.After(now) || reconnect, "time moves forward")
					require.LessOrEqual(t, at.Sub(now), 5*time.Minute, "silent for too long")
					now = at
					if reconnect {
						break
					}
					beats++
					require.Less(t, beats, 1000, "never reconnects")
				}
				life := now.Sub(start)
				require.Less(t, life, backoff.APIGatewayMaxConnection)
				require.Greater(t, beats, 0)
				if tt.lifetime > 0 && tt.lifetime < backoff.APIGatewayMaxConnection {
					require.LessOrEqual(t, life, tt.lifetime)
					require.GreaterOrEqual(t, life, time.Duration(float64(tt.lifetime)*(1-backoff.LifetimeJitter)))
				}
			}
		})
	}
}

func TestSessionNextAfterReconnectTime(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := backoff.NewSession(start, time.Minute, time.Hour, nil)
	at, reconnect := s.Next(start.Add(2 * time.Hour))
	require.True(t, reconnect)
	require.Equal(t, s.Reconnect, at)
}
