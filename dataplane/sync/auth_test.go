package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
)

func TestRegionFromHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		host string
		want string
	}{
		{desc: "api gateway", host: "abc123.execute-api.eu-west-1.amazonaws.com", want: "eu-west-1"},
		{desc: "china partition", host: "abc123.execute-api.cn-north-1.amazonaws.com.cn", want: "cn-north-1"},
		{desc: "custom domain", host: "cp.example.com", want: ""},
		{desc: "loopback", host: "127.0.0.1", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, dpsync.RegionFromHost(tt.host))
		})
	}
}

func TestBearer(t *testing.T) {
	t.Parallel()
	h, err := dpsync.Bearer("tok").Header(context.Background(), "ws://x")
	require.NoError(t, err)
	require.Equal(t, "Bearer tok", h.Get("Authorization"))
	h, err = dpsync.Bearer("").Header(context.Background(), "ws://x")
	require.NoError(t, err)
	require.Empty(t, h.Get("Authorization"), "the open local hub gets no header")
}

func TestSigV4SignsUpgrade(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		desc      string
		url       string
		region    string
		wantScope string
		wantErr   bool
	}{
		{desc: "region from host", url: "wss://abc.execute-api.eu-west-1.amazonaws.com/prod", region: "us-east-1", wantScope: "/20260304/eu-west-1/execute-api/aws4_request"},
		{desc: "region from config", url: "wss://cp.example.com/prod", region: "ap-south-1", wantScope: "/20260304/ap-south-1/execute-api/aws4_request"},
		{desc: "no region", url: "wss://cp.example.com/prod", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			s := &dpsync.SigV4{
				Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session-token"),
				Region:      tt.region,
				Now:         func() time.Time { return now },
			}
			h, err := s.Header(context.Background(), tt.url)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			auth := h.Get("Authorization")
			require.Contains(t, auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE"+tt.wantScope)
			require.Contains(t, auth, "SignedHeaders=host;x-amz-date;x-amz-security-token")
			require.NotContains(t, auth, "secret")
			require.Equal(t, "20260304T050607Z", h.Get("X-Amz-Date"))
			require.Equal(t, "session-token", h.Get("X-Amz-Security-Token"))
		})
	}
}
