package cluster_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/lambdas/authorizer"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/hub"
)

// TestThroughHub composes the route handler, the token check and the
// notifier behind the local hub, as `skyport local` does: a data plane
// that says hello at an old revision is sent the published one over its
// WebSocket, through the management API and the real SDK client.
func TestThroughHub(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	objects, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	ptr := publish(t, objects, 4)
	reg := cluster.NewMemory(nil)

	var h *cluster.Handler
	routes := map[string]hub.Handler{}
	for _, k := range []string{hub.RouteConnect, hub.RouteDisconnect, hub.RouteDefault, protocol.ActionHello, protocol.ActionStatus} {
		routes[k] = func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			return h.Handle(ctx, req)
		}
	}
	auth := authorizer.New("dp-token")
	wsHub := hub.New(hub.Options{Routes: routes, Authorize: func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) error {
		if !auth.CheckRequest(req) {
			return hub.ErrUnauthorized
		}
		return nil
	}, ManagementCredentials: aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}})
	srv := httptest.NewServer(wsHub)
	t.Cleanup(srv.Close)
	mgmt := apigatewaymanagementapi.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}, func(o *apigatewaymanagementapi.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	h = cluster.NewHandler(cluster.HandlerOptions{Registry: reg, Objects: objects, Notifier: cluster.NewManagementNotifier(mgmt)})

	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http")
	_, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer wrong"}}})
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	_, resp, err = websocket.Dial(ctx, wsURL+"/?token=dp-token", nil)
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the token is accepted in the header only")

	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer dp-token"}}})
	require.NoError(t, err)
	defer c.CloseNow()
	hello, err := json.Marshal(protocol.Hello{Action: protocol.ActionHello, NodeID: "dp-1", Hostname: "dp-1.local", Revision: 0})
	require.NoError(t, err)
	require.NoError(t, c.Write(ctx, websocket.MessageText, hello))

	_, frame, err := c.Read(ctx)
	require.NoError(t, err)
	var notice protocol.ConfigNotice
	require.NoError(t, json.Unmarshal(frame, &notice))
	require.Equal(t, protocol.TypeConfig, notice.Type)
	require.Equal(t, ptr.Revision, notice.Revision)
	require.Equal(t, ptr.Signature, notice.Signature)

	conns, err := reg.ListConnections(ctx)
	require.NoError(t, err)
	require.Len(t, conns, 1)
	require.Equal(t, "dp-1", conns[0].NodeID)
}
