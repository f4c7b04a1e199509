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
		want    string
	}{
		{desc: "bearer header", headers: map[string]string{"Authorization": "Bearer abc"}, want: "abc"},
		{desc: "lower-case header and scheme", headers: map[string]string{"authorization": "bearer abc"}, want: "abc"},
		{desc: "other scheme", headers: map[string]string{"Authorization": "Basic abc"}, want: ""},
		{desc: "other header", headers: map[string]string{"X-Token": "abc"}, want: ""},
		{desc: "nothing", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, authorizer.TokenFrom(tt.headers))
		})
	}
}

// TestCheckRequest: the local hub's check follows the same rule as the
// Lambda: the token in the Authorization header only.
func TestCheckRequest(t *testing.T) {
	t.Parallel()
	a := authorizer.New(token)
	tests := []struct {
		desc    string
		headers map[string]string
		query   map[string]string
		want    bool
	}{
		{desc: "bearer header", headers: map[string]string{"Authorization": "Bearer " + token}, want: true},
		{desc: "query parameter", query: map[string]string{"token": token}, want: false},
		{desc: "query parameter, any case", query: map[string]string{"Token": token}, want: false},
		{desc: "good header and a query token", headers: map[string]string{"Authorization": "Bearer " + token}, query: map[string]string{"token": token}, want: false},
		{desc: "good header and other query", headers: map[string]string{"Authorization": "Bearer " + token}, query: map[string]string{"v": "1"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			req := events.APIGatewayWebsocketProxyRequest{Headers: tt.headers, QueryStringParameters: tt.query}
			require.Equal(t, tt.want, a.CheckRequest(req))
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
	bothWays := loadRequest(t)
	bothWays.QueryStringParameters = map[string]string{"token": token}
	tests := []struct {
		desc   string
		req    events.APIGatewayCustomAuthorizerRequestTypeRequest
		effect string
	}{
		{desc: "valid bearer token", req: loadRequest(t), effect: "Allow"},
		{desc: "valid token in the query string", req: viaQuery, effect: "Deny"},
		{desc: "valid header, token also in the query string", req: bothWays, effect: "Deny"},
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
