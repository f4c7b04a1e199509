package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/hub"
)

var _ cluster.Notifier = (*hubNotifier)(nil)

// hubNotifier posts notices to the local hub's connections in process:
// at thousands of data planes, an HTTP exchange through the AWS SDK and a
// signature check per notice were a third of the control plane's CPU.
// hub is set once the hub is built (its routes need the notifier first).
type hubNotifier struct {
	hub *hub.Hub
}

// Post implements cluster.Notifier.
func (n *hubNotifier) Post(ctx context.Context, connectionID string, payload []byte) error {
	err := n.hub.Post(ctx, connectionID, payload)
	if errors.Is(err, hub.ErrGone) {
		return fmt.Errorf("%w: %w", cluster.ErrGone, err)
	}
	return err
}
