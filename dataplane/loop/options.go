package loop

import (
	"log/slog"
	"time"
)

// Option configures Serve.
type Option func(*config)

// WithLog has the loops log what goes wrong around them (accept
// failures, rate-limited) on log; without it they log nothing.
func WithLog(log *slog.Logger) Option {
	return func(c *config) { c.log = log }
}

// config is what the options set.
type config struct {
	log *slog.Logger
	// pauseMin and pauseMax bound a loop's pause after an accept failure
	// (see pauseAccept): it starts at pauseMin and doubles up to
	// pauseMax while accepts keep failing.
	pauseMin, pauseMax time.Duration
	// accept takes a connection from the listener (accept4); tests
	// replace it.
	accept acceptFunc
}

// The pause after an accept failure: net/http's Server.Serve's.
const (
	acceptPauseMin = 5 * time.Millisecond
	acceptPauseMax = time.Second
)

func newConfig(opts []Option) config {
	c := config{pauseMin: acceptPauseMin, pauseMax: acceptPauseMax, accept: accept4}
	for _, o := range opts {
		o(&c)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}
