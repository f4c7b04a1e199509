package proxy

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDirect: every request h1Client sends takes forward, a query with
// ';' too (it goes upstream as the client sent it); an upgrade and gRPC
// keep ReverseProxy.
func TestDirect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc, target string
		upgrade      bool
		grpc         bool
		want         bool
	}{
		{desc: "plain", target: "/x?a=1&b=2", want: true},
		{desc: "query with semicolon", target: "/x?a=1;b=2", want: true},
		{desc: "upgrade", target: "/x", upgrade: true},
		{desc: "grpc", target: "/x", grpc: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			if tc.upgrade {
				r.Header.Set("Upgrade", "websocket")
			}
			require.Equal(t, tc.want, direct(r, &service{grpc: tc.grpc}))
		})
	}
}
