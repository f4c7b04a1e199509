package sync

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

func quietClient(t *testing.T) *Client {
	t.Helper()
	pub, _, err := snapshot.GenerateKey()
	require.NoError(t, err)
	c, err := New(Config{VerifyKey: pub, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	require.NoError(t, err)
	return c
}

func TestClassifyClose(t *testing.T) {
	t.Parallel()
	closed := func(code websocket.StatusCode) error {
		return fmt.Errorf("failed to get reader: %w", websocket.CloseError{Code: code, Reason: "x"})
	}
	tests := []struct {
		desc       string
		err        error
		wantPrompt bool
	}{
		{desc: "normal closure", err: closed(websocket.StatusNormalClosure), wantPrompt: true},
		{desc: "going away", err: closed(websocket.StatusGoingAway), wantPrompt: true},
		{desc: "message too big from the server", err: closed(websocket.StatusMessageTooBig), wantPrompt: true},
		{desc: "message too big locally", err: fmt.Errorf("failed to read: %w", websocket.ErrMessageTooBig), wantPrompt: true},
		{desc: "policy violation", err: closed(websocket.StatusPolicyViolation)},
		{desc: "application auth failure", err: closed(4003)},
		{desc: "abnormal drop", err: io.ErrUnexpectedEOF},
	}
	c := quietClient(t)
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			end := c.classify(tt.err)
			require.Equal(t, tt.wantPrompt, end.prompt)
			if !tt.wantPrompt {
				require.Error(t, end.err)
			}
		})
	}
}

func TestDownloadLimitsAndRedacts(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c := quietClient(t)
	ctx := context.Background()

	data, err := c.download(ctx, srv.URL+"/snap?X-Amz-Signature=s3cret", 100)
	require.NoError(t, err)
	require.Len(t, data, 101, "reads one byte past the announced size, no more")

	_, err = c.download(ctx, srv.URL+"/missing?X-Amz-Signature=s3cret", 100)
	require.ErrorContains(t, err, "status 404")
	require.NotContains(t, err.Error(), "s3cret")

	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	_, err = c.download(ctx, gone.URL+"/snap?X-Amz-Signature=s3cret", 100)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
}
