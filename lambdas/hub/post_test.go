package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/hub"
)

// TestPost: an in-process post reaches the connection as the management
// API's does, and a closed, unknown or oversized one is refused.
func TestPost(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	h, url := serve(t, hub.Options{Routes: rec.routes(hub.RouteConnect, hub.RouteDisconnect)})
	c := dial(t, url)
	id := rec.next(t).RequestContext.ConnectionID
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	msg := `{"type":"config","revision":7}`
	require.NoError(t, h.Post(ctx, id, []byte(msg)))
	typ, got, err := c.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, websocket.MessageText, typ)
	require.Equal(t, msg, string(got))

	require.Error(t, h.Post(ctx, id, []byte(strings.Repeat("x", hub.MessageLimit+1))))
	require.ErrorIs(t, h.Post(ctx, "bm9uZXhpc3RlbnQh", []byte(msg)), hub.ErrGone)

	require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
	require.Equal(t, hub.RouteDisconnect, rec.next(t).RequestContext.RouteKey)
	require.ErrorIs(t, h.Post(ctx, id, []byte(msg)), hub.ErrGone)
}
