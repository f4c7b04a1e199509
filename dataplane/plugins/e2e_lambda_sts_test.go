package plugins_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
)

// stsTap relays STS calls to moto_server and keeps what each AssumeRole
// asked for and the temporary credentials moto_server issued.
type stsTap struct {
	mu       sync.Mutex
	requests []url.Values
	creds    aws.Credentials
}

func (tap *stsTap) issued() aws.Credentials {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	return tap.creds
}

func (tap *stsTap) assumed() []url.Values {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	return append([]url.Values(nil), tap.requests...)
}

func startSTSTap(t *testing.T, endpoint string) (*stsTap, string) {
	t.Helper()
	target, err := url.Parse(endpoint)
	require.NoError(t, err)
	tap := &stsTap{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(res *http.Response) error {
		body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		if err != nil {
			return err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		var out struct {
			Credentials struct {
				AccessKeyID     string `xml:"AccessKeyId"`
				SecretAccessKey string
				SessionToken    string
			} `xml:"AssumeRoleResult>Credentials"`
		}
		if xml.Unmarshal(body, &out) == nil && out.Credentials.AccessKeyID != "" {
			tap.mu.Lock()
			tap.creds = aws.Credentials{AccessKeyID: out.Credentials.AccessKeyID,
				SecretAccessKey: out.Credentials.SecretAccessKey, SessionToken: out.Credentials.SessionToken}
			tap.mu.Unlock()
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == "AssumeRole" {
			tap.mu.Lock()
			tap.requests = append(tap.requests, form)
			tap.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return tap, srv.URL
}

// TestEndToEndAWSLambdaAssumeRole follows aws_assume_role_arn: the plugin
// assumes the role at STS (moto_server) with its static keys and signs
// the invocation with the temporary credentials STS issued (the Invoke
// API stand-in checks the signature and the session token against
// them), assuming the role once for many requests.
func TestEndToEndAWSLambdaAssumeRole(t *testing.T) {
	t.Parallel()
	moto := motoserver.Start(t)
	tap, stsURL := startSTSTap(t, moto.Endpoint)
	api := lambdaAPIFor(t, tap.issued)
	host, port := splitHostPort(t, api.Listener.Addr().String())
	const role = "arn:aws:iam::123456789012:role/skyport-invoker"
	cfg := snapshot(t, "upstream.invalid", 80, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-lambda", "aws-lambda", map[string]any{
		"function_name": "echo", "aws_key": lambdaKey, "aws_secret": lambdaSecret, "aws_region": lambdaRegion,
		"aws_assume_role_arn": role, "aws_role_session_name": "skyport-test", "aws_sts_endpoint_url": stsURL,
		"host": host, "port": port, "disable_https": true})}
	front := serve(t, cfg)
	for i := range 2 {
		res, err := front.Client().Post(front.URL+"/api/fn?n=1", "application/json", strings.NewReader(`{"b":true}`))
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, "request %d: %s", i, body)
		require.JSONEq(t, `{"qualifier":"","event":{"n":"1","b":true}}`, string(body))
	}
	creds := tap.issued()
	require.NotEmpty(t, creds.SessionToken, "moto_server issued temporary credentials")
	require.NotEqual(t, lambdaKey, creds.AccessKeyID)
	assumed := tap.assumed()
	require.Len(t, assumed, 1, "the temporary credentials are cached")
	require.Equal(t, role, assumed[0].Get("RoleArn"))
	require.Equal(t, "skyport-test", assumed[0].Get("RoleSessionName"))
}
