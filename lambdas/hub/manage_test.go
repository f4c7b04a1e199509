package hub_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/hub"
)

// localCreds are the management credentials the tests' hubs verify.
var localCreds = aws.Credentials{AccessKeyID: "AKIDLOCALHUB", SecretAccessKey: "local-hub-secret"}

// managementClient is the AWS SDK client pointed at a hub, as the
// publisher builds it locally, signing with creds.
func managementClient(endpoint string, creds aws.Credentials) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
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
			_, url := serve(t, hub.Options{Stage: tt.stage, Routes: rec.routes(hub.RouteConnect, hub.RouteDisconnect), ManagementCredentials: localCreds})
			c := dial(t, url+tt.suffix)
			id := rec.next(t).RequestContext.ConnectionID
			api := managementClient("http"+strings.TrimPrefix(url, "ws")+tt.suffix, localCreds)
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

// TestManagementAPIRequiresSignature: a process on the machine that does
// not hold the hub's management credentials cannot post to a data plane
// (a forged config notice through an open loopback API once made a data
// plane skip the genuine revision). Nothing reaches the connection.
func TestManagementAPIRequiresSignature(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	_, url := serve(t, hub.Options{Routes: rec.routes(hub.RouteConnect), ManagementCredentials: localCreds})
	c := dial(t, url)
	id := rec.next(t).RequestContext.ConnectionID
	endpoint := "http" + strings.TrimPrefix(url, "ws")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	tests := []struct {
		desc  string
		creds aws.Credentials
		code  string
	}{
		{desc: "another secret", creds: aws.Credentials{AccessKeyID: localCreds.AccessKeyID, SecretAccessKey: "guess"}, code: "InvalidSignatureException"},
		{desc: "another access key", creds: aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: localCreds.SecretAccessKey}, code: "UnrecognizedClientException"},
		{desc: "the emulator's well-known key", creds: aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, code: "UnrecognizedClientException"},
	}
	for _, tt := range tests {
		api := managementClient(endpoint, tt.creds)
		_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: []byte(`{"type":"config","revision":99}`)})
		var apiErr smithy.APIError
		require.True(t, errors.As(err, &apiErr), "%s: %v", tt.desc, err)
		require.Equal(t, tt.code, apiErr.ErrorCode(), tt.desc)
	}

	// Raw requests: unsigned, stale, and a body changed after signing.
	post := func(body string) *http.Request {
		req, err := http.NewRequest(http.MethodPost, endpoint+"/@connections/"+id, strings.NewReader(body))
		require.NoError(t, err)
		return req
	}
	sign := func(req *http.Request, body string, at time.Time) {
		sum := sha256.Sum256([]byte(body))
		require.NoError(t, v4.NewSigner().SignHTTP(ctx, localCreds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", at))
	}
	raw := []struct {
		desc string
		req  func() *http.Request
		code string
	}{
		{desc: "unsigned", req: func() *http.Request { return post("x") }, code: "MissingAuthenticationTokenException"},
		{desc: "signed ten minutes ago", req: func() *http.Request {
			r := post("x")
			sign(r, "x", time.Now().Add(-10*time.Minute))
			return r
		}, code: "InvalidSignatureException"},
		{desc: "body changed after signing", req: func() *http.Request {
			r := post("y")
			sign(r, "x", time.Now())
			return r
		}, code: "InvalidSignatureException"},
		{desc: "another service", req: func() *http.Request {
			r := post("x")
			sum := sha256.Sum256([]byte("x"))
			require.NoError(t, v4.NewSigner().SignHTTP(ctx, localCreds, r, hex.EncodeToString(sum[:]), "s3", "us-east-1", time.Now()))
			return r
		}, code: "IncompleteSignatureException"},
	}
	for _, tt := range raw {
		resp, err := http.DefaultClient.Do(tt.req())
		require.NoError(t, err, tt.desc)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, tt.desc)
		require.Equal(t, tt.code, resp.Header.Get("x-amzn-ErrorType"), tt.desc)
	}

	// The connection saw none of it.
	readCtx, readCancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer readCancel()
	_, msg, err := c.Read(readCtx)
	require.Error(t, err, "a refused call reached the connection: %s", msg)
}

func TestManagementAPIRefusesWithoutCredentials(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	_, url := serve(t, hub.Options{Routes: rec.routes(hub.RouteConnect)})
	dial(t, url)
	id := rec.next(t).RequestContext.ConnectionID
	api := managementClient("http"+strings.TrimPrefix(url, "ws"), localCreds)
	_, err := api.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: []byte("x")})
	var forbidden *types.ForbiddenException
	require.True(t, errors.As(err, &forbidden), "got %v", err)
}

func TestManagementAPIRefusesRemoteClients(t *testing.T) {
	t.Parallel()
	h := hub.New(hub.Options{ManagementCredentials: localCreds})
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
			sum := sha256.Sum256([]byte("x"))
			require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), localCreds, req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			require.Equal(t, tt.status, w.Code, w.Body.String())
		})
	}
}

func TestPostTooLarge(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	_, url := serve(t, hub.Options{Routes: rec.routes(hub.RouteConnect), ManagementCredentials: localCreds})
	dial(t, url)
	id := rec.next(t).RequestContext.ConnectionID
	api := managementClient("http"+strings.TrimPrefix(url, "ws"), localCreds)
	_, err := api.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: &id, Data: []byte(strings.Repeat("x", hub.MessageLimit+1)),
	})
	var tooLarge *types.PayloadTooLargeException
	require.True(t, errors.As(err, &tooLarge), "got %v", err)
}
