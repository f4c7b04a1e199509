package backoff

import (
	"math/rand/v2"
	"time"
)

// APIGatewayMaxConnection is API Gateway's hard limit on a WebSocket
// connection's duration.
const APIGatewayMaxConnection = 2 * time.Hour

// Defaults for a connection's schedule: a heartbeat well inside API
// Gateway's ten-minute idle timeout, and a planned reconnect well inside
// its two-hour cap.
const (
	DefaultHeartbeat = 4 * time.Minute
	DefaultLifetime  = 110 * time.Minute
	// LifetimeJitter is the fraction of the lifetime a planned reconnect
	// may come early, so a fleet connected together does not reconnect
	// together.
	LifetimeJitter = 0.1
)

// Session is one connection's schedule: heartbeats every Heartbeat from
// Start, and a planned reconnect at Reconnect.
type Session struct {
	// Start is when the connection was established.
	Start time.Time
	// Heartbeat is the interval between heartbeats.
	Heartbeat time.Duration
	// Reconnect is when the connection is closed and opened again.
	Reconnect time.Time
}

// NewSession plans a connection established at start: lifetime is
// shortened by up to LifetimeJitter of itself, and never reaches
// APIGatewayMaxConnection.
func NewSession(start time.Time, heartbeat, lifetime time.Duration, r *rand.Rand) Session {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	if lifetime <= 0 || lifetime >= APIGatewayMaxConnection {
		lifetime = DefaultLifetime
	}
	early := uniform(time.Duration(float64(lifetime)*LifetimeJitter), r)
	return Session{Start: start, Heartbeat: heartbeat, Reconnect: start.Add(lifetime - early)}
}

// Next returns the next event strictly after now: a heartbeat, or the
// planned reconnect (reconnect true) when it comes first.
func (s Session) Next(now time.Time) (at time.Time, reconnect bool) {
	if !now.Before(s.Reconnect) {
		return s.Reconnect, true
	}
	n := now.Sub(s.Start)/s.Heartbeat + 1
	at = s.Start.Add(n * s.Heartbeat)
	if !at.Before(s.Reconnect) {
		return s.Reconnect, true
	}
	return at, false
}
