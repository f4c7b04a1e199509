package plugins_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
)

const (
	lambdaKey    = "AKIDSKYPORTTEST"
	lambdaSecret = "skyport-test-secret"
	lambdaRegion = "eu-west-1"
)

// lambdaAPI is a stand-in for AWS Lambda's Invoke API
// (POST /2015-03-31/functions/{name}/invocations): it checks each
// request's SigV4 signature against lambdaKey/lambdaSecret, as Lambda
// does, and runs one of a few functions by name.
func lambdaAPI(t *testing.T) *httptest.Server {
	t.Helper()
	return lambdaAPIFor(t, func() aws.Credentials {
		return aws.Credentials{AccessKeyID: lambdaKey, SecretAccessKey: lambdaSecret}
	})
}

// lambdaAPIFor is lambdaAPI checking signatures against the credentials
// creds returns at each request.
func lambdaAPIFor(t *testing.T, creds func() aws.Credentials) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if msg := checkSigV4(r, body, creds()); msg != "" {
			w.Header().Set("X-Amzn-Errortype", "InvalidSignatureException")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"` + msg + `"}`))
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
		name, ok2 := strings.CutSuffix(name, "/invocations")
		if !ok || !ok2 || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Amzn-Requestid", "req-1")
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		switch r.Header.Get("X-Amz-Invocation-Type") {
		case "Event":
			w.WriteHeader(http.StatusAccepted)
			return
		case "DryRun":
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch name {
		case "echo":
			out, _ := json.Marshal(map[string]any{"qualifier": r.URL.Query().Get("Qualifier"), "event": json.RawMessage(body)})
			_, _ = w.Write(out)
		case "proxy":
			_, _ = w.Write([]byte(`{"statusCode":201,"headers":{"X-Fn":"yes","Content-Type":"text/plain"},` +
				`"multiValueHeaders":{"X-Multi":["a","b"]},"body":"aGVsbG8=","isBase64Encoded":true}`))
		case "proxyjson":
			_, _ = w.Write([]byte(`{"statusCode":"200","headers":{"Content-Type":"application/json"},"body":"{\"items\":[]}"}`))
		case "crash":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = w.Write([]byte(`{"errorMessage":"boom","errorType":"Error"}`))
		case "empty":
			_, _ = w.Write([]byte(`{"items":[],"n":1}`))
		default:
			w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"Type":"User","message":"Function not found: ` + name + `"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// checkSigV4 re-signs the request's signed headers with creds and
// compares signatures; "" when they match. With a session token, the
// request must carry it.
func checkSigV4(r *http.Request, body []byte, creds aws.Credentials) string {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return "missing signature"
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	if creds.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
		return "missing or wrong session token"
	}
	if creds.AccessKeyID == "" || !strings.HasPrefix(fields["Credential"], creds.AccessKeyID+"/") || !strings.Contains(fields["Credential"], "/"+lambdaRegion+"/lambda/") {
		return "wrong credential scope " + fields["Credential"]
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "bad X-Amz-Date"
	}
	req, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for h := range strings.SplitSeq(fields["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length":
			req.ContentLength = int64(len(body))
		default:
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	req.Header.Del("Authorization")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", lambdaRegion, when); err != nil {
		return err.Error()
	}
	if !strings.HasSuffix(req.Header.Get("Authorization"), "Signature="+fields["Signature"]) {
		return "signature mismatch"
	}
	return ""
}

// lambdaCase is a request through a proxy whose aws-lambda plugin has
// conn's settings and conf's, and what it must answer.
type lambdaCase struct {
	desc   string
	conf   map[string]any
	method string
	path   string
	body   string
	ctype  string
	status int
	check  func(t *testing.T, res *http.Response, body string)
}

// run serves one proxy with the plugin, sends tc's request and checks the
// answer.
func (tc lambdaCase) run(t *testing.T, conn map[string]any) {
	t.Helper()
	conf := map[string]any{}
	for k, v := range conn {
		conf[k] = v
	}
	for k, v := range tc.conf {
		conf[k] = v
	}
	cfg := snapshot(t, "upstream.invalid", 80, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-lambda", "aws-lambda", conf)}
	front := serve(t, cfg)
	req, err := http.NewRequest(tc.method, front.URL+tc.path, strings.NewReader(tc.body))
	require.NoError(t, err)
	if tc.ctype != "" {
		req.Header.Set("Content-Type", tc.ctype)
	}
	res, err := front.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, tc.status, res.StatusCode, string(b))
	if tc.check != nil {
		tc.check(t, res, string(b))
	}
}

func TestEndToEndAWSLambda(t *testing.T) {
	t.Parallel()
	api := lambdaAPI(t)
	host, port := splitHostPort(t, api.Listener.Addr().String())
	conn := map[string]any{"aws_key": lambdaKey, "aws_secret": lambdaSecret, "aws_region": lambdaRegion,
		"host": host, "port": port, "disable_https": true}
	tests := []lambdaCase{
		{desc: "query and body arguments", conf: map[string]any{"function_name": "echo", "qualifier": "live"},
			method: http.MethodPost, path: "/api/fn?a=1&a=2&flag", body: `{"b":{"c":true}}`, ctype: "application/json",
			status: http.StatusOK, check: func(t *testing.T, res *http.Response, body string) {
				require.JSONEq(t, `{"qualifier":"live","event":{"a":["1","2"],"flag":true,"b":{"c":true}}}`, body)
				require.Equal(t, "$LATEST", res.Header.Get("X-Amz-Executed-Version"))
				require.Equal(t, "application/json", res.Header.Get("Content-Type"))
			}},
		{desc: "forwarded request", conf: map[string]any{"function_name": "echo", "forward_request_method": true,
			"forward_request_uri": true, "forward_request_headers": true, "forward_request_body": true},
			method: http.MethodPut, path: "/api/fn/x?q=1", body: "raw bytes", ctype: "application/octet-stream",
			status: http.StatusOK, check: func(t *testing.T, _ *http.Response, body string) {
				var out struct{ Event map[string]any }
				require.NoError(t, json.Unmarshal([]byte(body), &out))
				e := out.Event
				require.Equal(t, "PUT", e["request_method"])
				require.Equal(t, "/api/fn/x?q=1", e["request_uri"])
				require.Equal(t, map[string]any{"q": "1"}, e["request_uri_args"])
				require.Equal(t, "application/octet-stream", e["request_headers"].(map[string]any)["content-type"])
				require.Equal(t, "cmF3IGJ5dGVz", e["request_body"], "binary bodies are sent in base64")
				require.Equal(t, true, e["request_body_base64"])
			}},
		{desc: "API Gateway event", conf: map[string]any{"function_name": "echo", "awsgateway_compatible": true},
			method: http.MethodPost, path: "/api/fn?k=v", body: "hi", ctype: "text/plain",
			status: http.StatusOK, check: func(t *testing.T, _ *http.Response, body string) {
				var out struct{ Event map[string]any }
				require.NoError(t, json.Unmarshal([]byte(body), &out))
				e := out.Event
				require.Equal(t, "1.0", e["version"])
				require.Equal(t, "POST", e["httpMethod"])
				require.Equal(t, "/api/fn", e["path"])
				require.Equal(t, "/api", e["resource"])
				require.Equal(t, map[string]any{"k": "v"}, e["queryStringParameters"])
				require.Equal(t, "aGk=", e["body"])
				require.Equal(t, true, e["isBase64Encoded"])
				require.Equal(t, "text/plain", e["headers"].(map[string]any)["content-type"])
				require.NotEmpty(t, e["requestContext"].(map[string]any)["requestId"])
			}},
		{desc: "proxy integration", conf: map[string]any{"function_name": "proxy", "is_proxy_integration": true},
			method: http.MethodGet, path: "/api/fn", status: http.StatusCreated,
			check: func(t *testing.T, res *http.Response, body string) {
				require.Equal(t, "hello", body)
				require.Equal(t, "yes", res.Header.Get("X-Fn"))
				require.Equal(t, []string{"a", "b"}, res.Header.Values("X-Multi"))
				require.Equal(t, "text/plain", res.Header.Get("Content-Type"))
			}},
		{desc: "a proxy response's JSON body is left as it is", conf: map[string]any{"function_name": "proxyjson",
			"is_proxy_integration": true},
			method: http.MethodGet, path: "/api/fn", status: http.StatusOK,
			check: func(t *testing.T, _ *http.Response, body string) { require.Equal(t, `{"items":[]}`, body) }},
		{desc: "not a proxy response", conf: map[string]any{"function_name": "crash", "is_proxy_integration": true},
			method: http.MethodGet, path: "/api/fn", status: http.StatusBadGateway,
			check: func(t *testing.T, _ *http.Response, body string) {
				require.Contains(t, body, `"message":"Bad Gateway"`)
			}},
		{desc: "unhandled error status", conf: map[string]any{"function_name": "crash", "unhandled_status": 412},
			method: http.MethodGet, path: "/api/fn", status: http.StatusPreconditionFailed,
			check: func(t *testing.T, res *http.Response, body string) {
				require.Equal(t, "Unhandled", res.Header.Get("X-Amz-Function-Error"))
				require.JSONEq(t, `{"errorMessage":"boom","errorType":"Error"}`, body)
			}},
		{desc: "event invocation", conf: map[string]any{"function_name": "echo", "invocation_type": "Event"},
			method: http.MethodGet, path: "/api/fn", status: http.StatusAccepted},
		{desc: "legacy empty arrays", conf: map[string]any{"function_name": "empty"},
			method: http.MethodGet, path: "/api/fn", status: http.StatusOK,
			check: func(t *testing.T, _ *http.Response, body string) { require.JSONEq(t, `{"items":{},"n":1}`, body) }},
		{desc: "correct empty arrays", conf: map[string]any{"function_name": "empty", "empty_arrays_mode": "correct"},
			method: http.MethodGet, path: "/api/fn", status: http.StatusOK,
			check: func(t *testing.T, _ *http.Response, body string) { require.JSONEq(t, `{"items":[],"n":1}`, body) }},
		{desc: "unknown function", conf: map[string]any{"function_name": "nope"},
			method: http.MethodGet, path: "/api/fn", status: http.StatusInternalServerError,
			check: func(t *testing.T, res *http.Response, body string) {
				require.JSONEq(t, plugintest.ErrorJSON("An unexpected error occurred"), withRequestID(body, res))
			}},
		{desc: "wrong secret: Lambda refuses the signature", conf: map[string]any{"function_name": "echo", "aws_secret": "wrong"},
			method: http.MethodGet, path: "/api/fn", status: http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			tc.run(t, conn)
		})
	}
}
