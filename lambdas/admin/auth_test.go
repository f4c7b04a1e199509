package admin_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/lambdas/admin"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	const token = "s3cret-admin-token"
	var logs bytes.Buffer
	c := newClient(t, openEmbedded(t), admin.Options{
		TokenHash: admin.HashToken(token),
		Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
	})
	tests := []struct {
		desc   string
		header http.Header
		status int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"wrong bearer", http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized},
		{"basic scheme", http.Header{"Authorization": {"Basic " + token}}, http.StatusUnauthorized},
		{"empty bearer", http.Header{"Authorization": {"Bearer "}}, http.StatusUnauthorized},
		{"bearer", http.Header{"Authorization": {"Bearer " + token}}, http.StatusOK},
		{"bearer lowercase scheme", http.Header{"Authorization": {"bearer " + token}}, http.StatusOK},
		{"kong-admin-token", http.Header{"Kong-Admin-Token": {token}}, http.StatusOK},
		{"wrong kong-admin-token", http.Header{"Kong-Admin-Token": {token + "x"}}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(context.Background(), "GET", c.url+"/services", nil)
			require.NoError(t, err)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
		})
	}
	t.Run("writes need the token too", func(t *testing.T) {
		t.Parallel()
		r := c.do("POST", "/consumers", map[string]any{"username": "x"})
		require.Equal(t, http.StatusUnauthorized, r.status)
		require.Equal(t, map[string]any{"message": "Invalid authentication credentials"}, r.body)
	})
	t.Cleanup(func() { require.NotContains(t, logs.String(), token) })
}
