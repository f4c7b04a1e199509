package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/lambdas/admin/apigw"
	"github.com/skyport-gw/skyport/lambdas/cluster"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// TestBuild wires the Lambda against the emulator, as in AWS: the token
// comes from Secrets Manager and every request needs it.
func TestBuild(t *testing.T) {
	srv := motoserver.Start(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx := context.Background()
	cfg := srv.Config()
	ddb := dynamodb.NewFromConfig(cfg)
	require.NoError(t, dynamo.New(ddb, "skyport").CreateTable(ctx))
	require.NoError(t, cluster.NewDynamo(ddb, "skyport-cluster", nil).CreateTable(ctx))
	_, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("admin-token"), SecretString: aws.String(`{"token":"lambda-token"}`),
	})
	require.NoError(t, err)
	t.Setenv("SKYPORT_TABLE", "skyport")
	t.Setenv("SKYPORT_CLUSTER_TABLE", "skyport-cluster")
	t.Setenv("SKYPORT_ADMIN_TOKEN_SECRET", "admin-token")

	h, err := build(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	serve := apigw.Handler(h)
	call := func(method, path, token, body string) events.APIGatewayV2HTTPResponse {
		e := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body,
			Headers: map[string]string{"content-type": "application/json"}}
		e.RequestContext.HTTP.Method = method
		if token != "" {
			e.Headers["authorization"] = "Bearer " + token
		}
		resp, err := serve(ctx, e)
		require.NoError(t, err)
		return resp
	}
	require.Equal(t, 401, call("GET", "/services", "", "").StatusCode)
	require.Equal(t, 401, call("GET", "/services", "wrong", "").StatusCode)
	require.Equal(t, 201, call("POST", "/services", "lambda-token", `{"name":"s","host":"h"}`).StatusCode)
	resp := call("GET", "/", "lambda-token", "")
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, resp.Body, `"database":"postgres"`, "Kong's clients choose the CRUD Admin API")
	require.Contains(t, resp.Body, `"skyport_store":"dynamodb"`)
	require.Contains(t, resp.Body, `"version":"3.9.3"`)
	resp = call("GET", "/clustering/data-planes", "lambda-token", "")
	require.Equal(t, 200, resp.StatusCode, resp.Body)
	require.JSONEq(t, `{"data":[],"next":null}`, resp.Body)
}

func TestBuildNeedsTable(t *testing.T) {
	t.Setenv("SKYPORT_TABLE", "")
	_, err := build(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.ErrorContains(t, err, "SKYPORT_TABLE")
}
