package hub

import (
	"context"
	"errors"
	"fmt"
)

// ErrGone is returned by Post when the connection does not exist or
// closed, as the management API answers 410 GoneException.
var ErrGone = errors.New("connection gone")

// Post sends msg to connection id as a text message: what a signed POST
// to @connections/{id} does, without the HTTP exchange, the AWS SDK's
// request pipeline and the signature, for a caller in the hub's own
// process (skyport local's publisher and cluster handler). Messages over
// MessageLimit are refused, as the management API refuses them.
func (h *Hub) Post(ctx context.Context, id string, msg []byte) error {
	if len(msg) > MessageLimit {
		return fmt.Errorf("posting to connection %s: message of %d bytes over the %d-byte limit", id, len(msg), MessageLimit)
	}
	c := h.lookup(id)
	if c == nil || !c.accepted(ctx) {
		return fmt.Errorf("posting to connection %s: %w", id, ErrGone)
	}
	if err := c.send(ctx, msg); err != nil {
		return fmt.Errorf("posting to connection %s: %w: %w", id, ErrGone, err)
	}
	return nil
}
