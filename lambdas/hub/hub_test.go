package hub_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/hub"
)

// recorder is a set of routes that report every event they receive.
type recorder struct {
	events chan events.APIGatewayWebsocketProxyRequest
}

func newRecorder() *recorder {
	return &recorder{events: make(chan events.APIGatewayWebsocketProxyRequest, 64)}
}

func (r *recorder) route(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	r.events <- req
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}

// next returns the next event, failing the test after a bounded wait.
func (r *recorder) next(t *testing.T) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no route ran")
		return events.APIGatewayWebsocketProxyRequest{}
	}
}

func (r *recorder) routes(keys ...string) map[string]hub.Handler {
	m := map[string]hub.Handler{}
	for _, k := range keys {
		m[k] = r.route
	}
	return m
}

// serve starts a hub behind an httptest server; the returned URL is ws://.
func serve(t *testing.T, opts hub.Options) (*hub.Hub, string) {
	t.Helper()
	h := hub.New(opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return h, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// closeStatus reads until the server closes the connection and returns the
// close code.
func closeStatus(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			require.NoError(t, ctx.Err(), "the server did not close the connection")
			return websocket.CloseStatus(err)
		}
	}
}

func TestRouteSelection(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	_, url := serve(t, hub.Options{Routes: rec.routes(hub.RouteConnect, hub.RouteDefault, "hello", "status")})
	c := dial(t, url+"/?node=a")
	connect := rec.next(t)
	require.Equal(t, "CONNECT", connect.RequestContext.EventType)
	require.Equal(t, "127.0.0.1", connect.RequestContext.Identity.SourceIP)
	require.Equal(t, "a", connect.QueryStringParameters["node"])
	require.NotEmpty(t, connect.Headers["Sec-Websocket-Key"])
	require.Len(t, connect.RequestContext.ConnectionID, 16)

	tests := []struct {
		desc, body, route string
	}{
		{desc: "named route", body: `{"action":"hello","node_id":"n1"}`, route: "hello"},
		{desc: "another named route", body: `{"action":"status"}`, route: "status"},
		{desc: "unknown action", body: `{"action":"nope"}`, route: hub.RouteDefault},
		{desc: "no action", body: `{"type":"x"}`, route: hub.RouteDefault},
		{desc: "action not a string", body: `{"action":5}`, route: hub.RouteDefault},
		{desc: "not JSON", body: `hello`, route: hub.RouteDefault},
	}
	for _, tt := range tests { // one connection: messages are routed in order
		require.NoError(t, c.Write(context.Background(), websocket.MessageText, []byte(tt.body)), tt.desc)
		got := rec.next(t)
		require.Equal(t, tt.route, got.RequestContext.RouteKey, tt.desc)
		require.Equal(t, "MESSAGE", got.RequestContext.EventType, tt.desc)
		require.Equal(t, tt.body, got.Body, tt.desc)
		require.Equal(t, connect.RequestContext.ConnectionID, got.RequestContext.ConnectionID, tt.desc)
	}
}

func TestNoDefaultRouteAnswersForbidden(t *testing.T) {
	t.Parallel()
	_, url := serve(t, hub.Options{Routes: map[string]hub.Handler{}})
	c := dial(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(`{"action":"x"}`)))
	_, msg, err := c.Read(ctx)
	require.NoError(t, err)
	require.Contains(t, string(msg), `"message":"Forbidden"`)
}

func TestRouteErrorAnswersInternalServerError(t *testing.T) {
	t.Parallel()
	failing := func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{}, errors.New("boom")
	}
	_, url := serve(t, hub.Options{Routes: map[string]hub.Handler{hub.RouteDefault: failing}})
	c := dial(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(`{}`)))
	_, msg, err := c.Read(ctx)
	require.NoError(t, err)
	require.Contains(t, string(msg), `"message":"Internal server error"`)
}

func TestConnectRefused(t *testing.T) {
	t.Parallel()
	respond := func(status int, err error) hub.Handler {
		return func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: status}, err
		}
	}
	authorize := func(err error) hub.Authorizer {
		return func(context.Context, events.APIGatewayWebsocketProxyRequest) error { return err }
	}
	tests := []struct {
		desc   string
		opts   hub.Options
		status int
	}{
		{desc: "authorizer: no credentials", opts: hub.Options{Authorize: authorize(hub.ErrUnauthorized)}, status: http.StatusUnauthorized},
		{desc: "authorizer: denied", opts: hub.Options{Authorize: authorize(errors.New("bad token"))}, status: http.StatusForbidden},
		{desc: "$connect answers 403", opts: hub.Options{Routes: map[string]hub.Handler{hub.RouteConnect: respond(http.StatusForbidden, nil)}}, status: http.StatusForbidden},
		{desc: "$connect fails", opts: hub.Options{Routes: map[string]hub.Handler{hub.RouteConnect: respond(0, errors.New("boom"))}}, status: http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, url := serve(t, tt.opts)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, url, nil)
			if c != nil {
				_ = c.CloseNow()
			}
			require.Error(t, err)
			require.NotNil(t, resp)
			require.Equal(t, tt.status, resp.StatusCode)
		})
	}
}

func TestAuthorizerAllows(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	_, url := serve(t, hub.Options{
		Routes: rec.routes(hub.RouteConnect),
		Authorize: func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) error {
			if req.Headers["Authorization"] != "Bearer good" {
				return hub.ErrUnauthorized
			}
			return nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer good"}}})
	require.NoError(t, err)
	defer c.CloseNow()
	require.Equal(t, "CONNECT", rec.next(t).RequestContext.EventType)
}

func TestSizeLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		size int
	}{
		{desc: "frame over 32 KB", size: hub.FrameLimit + 1},
		{desc: "message over 128 KB", size: hub.MessageLimit + 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			_, url := serve(t, hub.Options{Routes: rec.routes(hub.RouteDefault, hub.RouteDisconnect)})
			c := dial(t, url)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", tt.size)))
			require.Equal(t, websocket.StatusMessageTooBig, closeStatus(t, c))
			got := rec.next(t)
			require.Equal(t, hub.RouteDisconnect, got.RequestContext.RouteKey, "the oversized message is not routed")
			require.EqualValues(t, websocket.StatusMessageTooBig, got.RequestContext.DisconnectStatusCode)
		})
	}
}

func TestFrameAtLimitIsRouted(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	_, url := serve(t, hub.Options{Routes: rec.routes(hub.RouteDefault)})
	c := dial(t, url)
	body := strings.Repeat("x", hub.FrameLimit)
	require.NoError(t, c.Write(context.Background(), websocket.MessageText, []byte(body)))
	require.Equal(t, body, rec.next(t).Body)
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		opts hub.Options
		// chatty clients keep sending messages, so only the lifetime can end them.
		chatty bool
	}{
		{desc: "idle timeout", opts: hub.Options{IdleTimeout: 200 * time.Millisecond}},
		{desc: "maximum lifetime", opts: hub.Options{MaxLifetime: 500 * time.Millisecond}, chatty: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			tt.opts.Routes = rec.routes(hub.RouteDisconnect)
			_, url := serve(t, tt.opts)
			c := dial(t, url)
			if tt.chatty {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go func() {
					for c.Write(ctx, websocket.MessageText, []byte(`{"action":"ping"}`)) == nil {
						time.Sleep(20 * time.Millisecond)
					}
				}()
			}
			require.Equal(t, websocket.StatusGoingAway, closeStatus(t, c))
			got := rec.next(t)
			require.Equal(t, "DISCONNECT", got.RequestContext.EventType)
			require.EqualValues(t, websocket.StatusGoingAway, got.RequestContext.DisconnectStatusCode)
		})
	}
}

func TestClientCloseRunsDisconnect(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	_, url := serve(t, hub.Options{Routes: rec.routes(hub.RouteConnect, hub.RouteDisconnect)})
	c := dial(t, url)
	id := rec.next(t).RequestContext.ConnectionID
	require.NoError(t, c.Close(websocket.StatusNormalClosure, "bye"))
	got := rec.next(t)
	require.Equal(t, hub.RouteDisconnect, got.RequestContext.RouteKey)
	require.Equal(t, id, got.RequestContext.ConnectionID)
	require.EqualValues(t, websocket.StatusNormalClosure, got.RequestContext.DisconnectStatusCode)
	require.Equal(t, "bye", *got.RequestContext.DisconnectReason)
}

func TestCloseGoesAway(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	h, url := serve(t, hub.Options{Routes: rec.routes(hub.RouteDisconnect)})
	c := dial(t, url)
	done := make(chan websocket.StatusCode, 1)
	go func() {
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				done <- websocket.CloseStatus(err)
				return
			}
		}
	}()
	h.Close()
	require.Equal(t, hub.RouteDisconnect, rec.next(t).RequestContext.RouteKey, "Close waits for $disconnect")
	require.Equal(t, websocket.StatusGoingAway, <-done)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, url, nil)
	require.Error(t, err, "a closed hub refuses new connections")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestAcceptRateRefusesBeyondTheBucket(t *testing.T) {
	t.Parallel()
	// A stopped clock: the bucket never refills, so exactly its burst (a
	// tenth of the rate) is accepted.
	at := time.Unix(1_700_000_000, 0)
	_, url := serve(t, hub.Options{AcceptRate: 30, Now: func() time.Time { return at }})
	for range 3 {
		dial(t, url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, nil)
	if c != nil {
		_ = c.CloseNow()
	}
	require.Error(t, err)
	require.NotNil(t, resp)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
}
