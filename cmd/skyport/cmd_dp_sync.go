package main

import (
	"context"
	"log/slog"

	"github.com/skyport-gw/skyport/dataplane/status"
	"github.com/skyport-gw/skyport/internal/model"
)

// applier is what the sync client feeds: the proxy's compile-and-swap.
type applier interface {
	// Apply compiles cfg completely and swaps it in; on error the running
	// configuration is untouched.
	Apply(ctx context.Context, cfg *model.Config, revision int64, source string) error
	// Current returns the running revision and config hash.
	Current() (revision int64, hash string)
}

// startSync starts the data plane's control-plane connection, cache and
// fallback, as o configures them; it returns nil when none is configured.
// It stops when ctx is done.
func startSync(ctx context.Context, o *dpOptions, a applier, log *slog.Logger) (status.SyncReporter, error) {
	return nil, nil
}
