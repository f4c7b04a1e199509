package authorizer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/authorizer"
)

const token = "s3cr3t-dp-token"

func loadRequest(t *testing.T) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	t.Helper()
	data, err := os.ReadFile("testdata/connect_request.json")
	require.NoError(t, err)
	var req events.APIGatewayCustomAuthorizerRequestTypeRequest
	require.NoError(t, json.Unmarshal(data, &req))
	return req
}

func TestCheck(t *testing.T) {
	t.Parallel()
	a := authorizer.New("", token, "second-token")
	tests := []struct {
		desc  string
		token string
		want  bool
	}{
		{desc: "first token", token: token, want: true},
		{desc: "second token", token: "second-token", want: true},
		{desc: "empty", token: "", want: false},
		{desc: "prefix", token: token[:5], want: false},
		{desc: "longer", token: token + "x", want: false},
		{desc: "other", token: "guess", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, a.Check(tt.token))
		})
	}
	require.False(t, authorizer.New().Check(""), "no tokens admits nobody")
}

func TestNewFromHashes(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte(token))
	a, err := authorizer.NewFromHashes(hex.EncodeToString(sum[:]))
	require.NoError(t, err)
	require.True(t, a.Check(token))
	require.False(t, a.Check("other"))

	_, err = authorizer.NewFromHashes()
	require.ErrorIs(t, err, authorizer.ErrNoTokens)
	_, err = authorizer.NewFromHashes("abc")
	require.Error(t, err)
}

func TestTokenFrom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		headers map[string]string
		query   map[string]string
		want    string
	}{
		{desc: "bearer header", headers: map[string]string{"Authorization": "Bearer abc"}, want: "abc"},
		{desc: "lower-case header and scheme", headers: map[string]string{"authorization": "bearer abc"}, want: "abc"},
		{desc: "query parameter", query: map[string]string{"token": "q"}, want: "q"},
		{desc: "header wins", headers: map[string]string{"Authorization": "Bearer h"}, query: map[string]string{"token": "q"}, want: "h"},
		{desc: "other scheme", headers: map[string]string{"Authorization": "Basic abc"}, want: ""},
		{desc: "nothing", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, authorizer.TokenFrom(tt.headers, tt.query))
		})
	}
}

func TestHandle(t *testing.T) {
	t.Parallel()
	wrong := loadRequest(t)
	wrong.Headers = map[string]string{"Authorization": "Bearer wrong"}
	viaQuery := loadRequest(t)
	viaQuery.Headers = nil
	viaQuery.QueryStringParameters = map[string]string{"token": token}
	tests := []struct {
		desc   string
		req    events.APIGatewayCustomAuthorizerRequestTypeRequest
		effect string
	}{
		{desc: "valid bearer token", req: loadRequest(t), effect: "Allow"},
		{desc: "valid query token", req: viaQuery, effect: "Allow"},
		{desc: "wrong token", req: wrong, effect: "Deny"},
	}
	a := authorizer.New(token)
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			resp, err := a.Handle(context.Background(), tt.req)
			require.NoError(t, err)
			require.Equal(t, authorizer.PrincipalID, resp.PrincipalID)
			require.Len(t, resp.PolicyDocument.Statement, 1)
			st := resp.PolicyDocument.Statement[0]
			require.Equal(t, tt.effect, st.Effect)
			require.Equal(t, []string{"execute-api:Invoke"}, st.Action)
			require.Equal(t, []string{"arn:aws:execute-api:us-east-1:123456789012:abcdef1234/live/$connect"}, st.Resource)
			raw, err := json.Marshal(resp)
			require.NoError(t, err)
			require.NotContains(t, string(raw), token, "the token never appears in the response")
		})
	}
}
