package hub_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/hub"
)

// managementClient is the AWS SDK client pointed at a hub, as the
// publisher builds it locally.
func managementClient(endpoint string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

func TestManagementAPI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, stage, suffix string
	}{
		{desc: "no stage"},
		{desc: "stage prefix", stage: "prod", suffix: "/prod"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder()
			_, url := serve(t, hub.Options{Stage: tt.stage, Routes: rec.routes(hub.RouteConnect, hub.RouteDisconnect)})
			c := dial(t, url+tt.suffix)
			id := rec.next(t).RequestContext.ConnectionID
			api := managementClient("http" + strings.TrimPrefix(url, "ws") + tt.suffix)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			msg := `{"type":"config","revision":7}`
			_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: []byte(msg)})
			require.NoError(t, err)
			typ, got, err := c.Read(ctx)
			require.NoError(t, err)
			require.Equal(t, websocket.MessageText, typ)
			require.Equal(t, msg, string(got))

			info, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &id})
			require.NoError(t, err)
			require.Equal(t, "127.0.0.1", *info.Identity.SourceIp)
			require.WithinDuration(t, time.Now(), *info.ConnectedAt, time.Minute)
			require.False(t, info.LastActiveAt.Before(*info.ConnectedAt))

			_, err = api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &id})
			require.NoError(t, err)
			_, _, err = c.Read(ctx)
			require.Equal(t, websocket.StatusNormalClosure, websocket.CloseStatus(err))
			require.Equal(t, hub.RouteDisconnect, rec.next(t).RequestContext.RouteKey)

			_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: []byte(msg)})
			var gone *types.GoneException
			require.True(t, errors.As(err, &gone), "posting to a closed connection: %v", err)
			_, err = api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String("bm9uZXhpc3RlbnQh")})
			require.True(t, errors.As(err, &gone), "an unknown connection: %v", err)
		})
	}
}

func TestManagementAPIRefusesRemoteClients(t *testing.T) {
	t.Parallel()
	h := hub.New(hub.Options{})
	tests := []struct {
		desc, remote string
		status       int
	}{
		{desc: "remote IPv4", remote: "203.0.113.5:4000", status: http.StatusForbidden},
		{desc: "remote IPv6", remote: "[2001:db8::1]:4000", status: http.StatusForbidden},
		{desc: "loopback IPv4", remote: "127.0.0.1:4000", status: http.StatusGone},
		{desc: "loopback IPv6", remote: "[::1]:4000", status: http.StatusGone},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/@connections/abc", strings.NewReader("x"))
			req.RemoteAddr = tt.remote
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			require.Equal(t, tt.status, w.Code)
		})
	}
}

func TestPostTooLarge(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	_, url := serve(t, hub.Options{Routes: rec.routes(hub.RouteConnect)})
	dial(t, url)
	id := rec.next(t).RequestContext.ConnectionID
	api := managementClient("http" + strings.TrimPrefix(url, "ws"))
	_, err := api.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: &id, Data: []byte(strings.Repeat("x", hub.MessageLimit+1)),
	})
	var tooLarge *types.PayloadTooLargeException
	require.True(t, errors.As(err, &tooLarge), "got %v", err)
}
