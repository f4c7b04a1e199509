package tests

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/protocol"
	"github.com/skyport-gw/skyport/internal/rie"
	"github.com/skyport-gw/skyport/lambdas/eventsource"
	"github.com/skyport-gw/skyport/lambdas/hub"
	"github.com/skyport-gw/skyport/lambdas/keygen"
)

// lambdaRoute is a WebSocket route integrated with a Lambda function run
// by the emulator, as API Gateway integrates the cluster function.
func lambdaRoute(f *rie.Function) hub.Handler {
	return func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		payload, err := json.Marshal(req)
		if err != nil {
			return events.APIGatewayProxyResponse{}, fmt.Errorf("encoding the event: %w", err)
		}
		res, err := f.Invoke(ctx, payload)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(res, &resp); err != nil {
			return resp, fmt.Errorf("decoding the result: %w", err)
		}
		return resp, nil
	}
}

// testLambdaPath follows one change through the deployed binaries: an
// Admin API write (admin under the emulator) → the table's stream (read
// by the event-source poller) → publisher under the emulator → a signed
// snapshot in S3 → a notice through @connections → a real `skyport dp`
// applies it. The WebSocket API is the local hub, its routes integrated
// with the cluster function under the emulator, its @connections API the
// one the publisher and the cluster function post to. The data plane has
// no fallback URL: every configuration reaches it through the control
// plane.
func testLambdaPath(t *testing.T, a *awsFixture) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.tables(t, "path")
	a.bucket(t, "path-snapshots")
	secret, pub, _ := a.signingSecret(t, "path-signing")
	streamARN, err := eventsource.LatestStreamARN(ctx, a.ddb, "path")
	require.NoError(t, err)

	routes := map[string]hub.Handler{}
	// The functions sign their @connections calls with the credentials
	// they run with (the emulator's test keys), as on AWS with their role.
	ws := httptest.NewServer(hub.New(hub.Options{Routes: routes, ManagementCredentials: aws.Credentials{
		AccessKeyID: "testing", SecretAccessKey: "testing",
	}}))
	t.Cleanup(ws.Close)
	clusterFn := startFunction(t, "cluster", a.env("SKYPORT_CLUSTER_TABLE=path-cluster", "SKYPORT_BUCKET=s3://path-snapshots/cp",
		"SKYPORT_WS_ENDPOINT="+ws.URL)...)
	for _, k := range []string{hub.RouteConnect, hub.RouteDisconnect, hub.RouteDefault, protocol.ActionHello, protocol.ActionStatus} {
		routes[k] = lambdaRoute(clusterFn)
	}
	publisherFn := startFunction(t, "publisher", a.env(
		"SKYPORT_TABLE=path", "SKYPORT_CLUSTER_TABLE=path-cluster", "SKYPORT_BUCKET=s3://path-snapshots/cp",
		"SKYPORT_SIGNING_KEY_SECRET="+secret, "SKYPORT_SIGNING_KEY_ID="+keygen.KeyID(pub), "SKYPORT_WS_ENDPOINT="+ws.URL)...)
	adminFn := startFunction(t, "admin", a.env("SKYPORT_TABLE=path", "SKYPORT_CLUSTER_TABLE=path-cluster")...)

	// The event-source mapping: the stream's revision records, in
	// batches, to the publisher function.
	poller := eventsource.New(eventsource.Options{
		Client: dynamodbstreams.NewFromConfig(a.cfg), StreamARN: streamARN, Filter: eventsource.RevisionFilter,
		StartingPosition: streamtypes.ShardIteratorTypeTrimHorizon, PollInterval: 250 * time.Millisecond,
		Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			var resp events.DynamoDBEventResponse
			payload, err := json.Marshal(ev)
			if err != nil {
				return resp, err
			}
			res, err := publisherFn.Invoke(ctx, payload)
			if err != nil {
				return resp, err
			}
			return resp, json.Unmarshal(res, &resp)
		},
	})
	done := make(chan struct{})
	go func() { defer close(done); _ = poller.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	admin := func(method, path, ctype string, body []byte) events.APIGatewayV2HTTPResponse {
		var ev events.APIGatewayV2HTTPRequest
		event(t, "admin_post_base64", &ev)
		ev.RawPath, ev.RequestContext.HTTP.Path, ev.RequestContext.HTTP.Method = path, path, method
		ev.Headers["content-type"] = ctype
		delete(ev.Headers, "content-length")
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		var resp events.APIGatewayV2HTTPResponse
		invoke(t, adminFn, ev, &resp)
		return resp
	}
	upA, upB, upC := upstream(t, "a"), upstream(t, "b"), upstream(t, "c")
	created := admin(http.MethodPost, "/config", "application/x-yaml", kongYAML(upA.URL, upB.URL))
	require.Equal(t, http.StatusCreated, created.StatusCode, created.Body)

	dp := startDP(t, "dp-lambda", "ws://"+ws.Listener.Addr().String(), "", base64.StdEncoding.EncodeToString(pub),
		filepath.Join(t.TempDir(), "cache"), a.moto.Env())
	ready(t, dp.status, 60*time.Second)
	eventually(t, 30*time.Second, "the data plane serves the first configuration", func() error {
		return served(dp.proxy, "beta.test", "/v1/x", "b")
	})

	// A change while the data plane is connected reaches it as a notice.
	patched := admin(http.MethodPatch, "/services/beta", "application/json", []byte(`{"url":"`+upC.URL+`"}`))
	require.Equal(t, http.StatusOK, patched.StatusCode, patched.Body)
	eventually(t, 60*time.Second, "the data plane applies the change", func() error {
		return served(dp.proxy, "beta.test", "/v1/x", "c")
	})
	// The admin function lists it from the cluster table the cluster
	// function wrote.
	eventually(t, 30*time.Second, "the Admin API lists the data plane", func() error {
		listed := admin(http.MethodGet, "/clustering/data-planes", "application/json", nil)
		var page struct {
			Data []dpRow `json:"data"`
		}
		if err := json.Unmarshal([]byte(listed.Body), &page); err != nil {
			return fmt.Errorf("decoding %s: %w", listed.Body, err)
		}
		if len(page.Data) != 1 || page.Data[0].ID != "dp-lambda" {
			return fmt.Errorf("data planes: %s", listed.Body)
		}
		return nil
	})
}
