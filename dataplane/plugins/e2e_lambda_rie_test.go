package plugins_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/rie"
)

// startEchoFunction runs testdata/lambdaecho under the AWS Lambda Runtime
// Interface Emulator (both built for the host) and returns its address.
// The emulator serves one function, named "function", and runs one
// invocation at a time.
func startEchoFunction(t *testing.T) (host string, port int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	emu, err := rie.Build(ctx, dir)
	require.NoError(t, err)
	boot, err := rie.BuildBootstrap(ctx, filepath.Join("..", ".."), "./dataplane/plugins/testdata/lambdaecho", dir)
	require.NoError(t, err)
	f, err := rie.Start(ctx, rie.Options{RIE: emu, Bootstrap: boot, Name: "lambdaecho"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return splitHostPort(t, f.Addr())
}

// TestEndToEndAWSLambdaEmulator sends requests through the proxy to a real
// Go Lambda function under the Runtime Interface Emulator: the plugin's
// payloads as the function receives them, its results as Kong answers
// them. The emulator neither checks signatures nor honours
// X-Amz-Invocation-Type or sets X-Amz-Function-Error, so the Event and
// DryRun statuses and unhandled_status are tested against the Invoke API
// stand-in (TestEndToEndAWSLambda) instead.
func TestEndToEndAWSLambdaEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the Lambda Runtime Interface Emulator and a function (make test runs it)")
	}
	t.Parallel()
	host, port := startEchoFunction(t)
	conn := map[string]any{"function_name": "function", "aws_key": lambdaKey, "aws_secret": lambdaSecret,
		"aws_region": lambdaRegion, "host": host, "port": port, "disable_https": true}
	event := func(t *testing.T, body string) map[string]any {
		var out struct {
			Event    map[string]any
			Function string
		}
		require.NoError(t, json.Unmarshal([]byte(body), &out), body)
		require.Equal(t, "lambdaecho", out.Function)
		return out.Event
	}
	// The emulator runs one invocation at a time: the cases run in order,
	// the crash last.
	tests := []lambdaCase{
		{desc: "query and body arguments", method: http.MethodPost, path: "/api/fn?a=1&a=2&flag",
			body: `{"b":{"c":true}}`, ctype: "application/json",
			status: http.StatusOK, check: func(t *testing.T, _ *http.Response, body string) {
				require.Equal(t, map[string]any{"a": []any{"1", "2"}, "flag": true, "b": map[string]any{"c": true}}, event(t, body))
			}},
		{desc: "the forwarded request", conf: map[string]any{"forward_request_method": true,
			"forward_request_uri": true, "forward_request_headers": true, "forward_request_body": true},
			method: http.MethodPost, path: "/api/fn?a=1", body: `{"b":2}`, ctype: "application/json",
			status: http.StatusOK, check: func(t *testing.T, _ *http.Response, body string) {
				e := event(t, body)
				require.Equal(t, "POST", e["request_method"])
				require.Equal(t, "/api/fn?a=1", e["request_uri"])
				require.Equal(t, map[string]any{"a": "1"}, e["request_uri_args"])
				require.Equal(t, "application/json", e["request_headers"].(map[string]any)["content-type"])
				require.Equal(t, `{"b":2}`, e["request_body"])
				require.Equal(t, map[string]any{"b": float64(2)}, e["request_body_args"])
			}},
		{desc: "API Gateway event", conf: map[string]any{"awsgateway_compatible": true},
			method: http.MethodPut, path: "/api/fn/x?k=v", body: "hi", ctype: "text/plain",
			status: http.StatusOK, check: func(t *testing.T, _ *http.Response, body string) {
				e := event(t, body)
				require.Equal(t, "PUT", e["httpMethod"])
				require.Equal(t, "/api/fn/x", e["path"])
				require.Equal(t, map[string]any{"k": "v"}, e["queryStringParameters"])
				require.Equal(t, "aGk=", e["body"])
				require.Equal(t, true, e["isBase64Encoded"])
			}},
		{desc: "proxy integration", conf: map[string]any{"is_proxy_integration": true},
			method: http.MethodGet, path: "/api/fn?status=201&x=y", status: http.StatusCreated,
			check: func(t *testing.T, res *http.Response, body string) {
				require.Equal(t, "yes", res.Header.Get("X-Echo"))
				require.Equal(t, "application/json", res.Header.Get("Content-Type"))
				require.JSONEq(t, `{"status":"201","x":"y"}`, body)
			}},
		{desc: "proxy integration of an API Gateway event", conf: map[string]any{"is_proxy_integration": true,
			"awsgateway_compatible": true},
			method: http.MethodDelete, path: "/api/fn?status=204", status: http.StatusNoContent},
		{desc: "a result that is not a proxy response", conf: map[string]any{"is_proxy_integration": true},
			method: http.MethodGet, path: "/api/fn", status: http.StatusBadGateway,
			check: func(t *testing.T, _ *http.Response, body string) {
				require.Contains(t, body, `"message":"Bad Gateway"`)
			}},
		{desc: "a function error is Lambda's status and body", method: http.MethodGet, path: "/api/fn?fail=boom",
			status: http.StatusOK, check: func(t *testing.T, _ *http.Response, body string) {
				require.JSONEq(t, `{"errorMessage":"boom","errorType":"errorString"}`, body)
			}},
		{desc: "Event invocation reaches the function", conf: map[string]any{"invocation_type": "Event"},
			method: http.MethodGet, path: "/api/fn?n=1", status: http.StatusOK,
			check: func(t *testing.T, _ *http.Response, body string) { require.Equal(t, "1", event(t, body)["n"]) }},
		{desc: "a failed invocation is Kong's 500", method: http.MethodGet, path: "/api/fn?crash",
			status: http.StatusInternalServerError,
			check: func(t *testing.T, res *http.Response, body string) {
				require.JSONEq(t, plugintest.ErrorJSON("An unexpected error occurred"), withRequestID(body, res))
			}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tc.run(t, conn)
		})
	}
}
