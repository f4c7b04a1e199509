package certs

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestZapLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := zapLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Named("handshake").Debug("hidden")
	l.Named("obtain").With(zap.String("identifier", "shop.example.com")).Warn("retrying", zap.Int("attempt", 2))
	var got map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got), "one line: %s", buf.String())
	require.Equal(t, "WARN", got["level"])
	require.Equal(t, "retrying", got["msg"])
	require.Equal(t, "certmagic.obtain", got["component"])
	require.Equal(t, "shop.example.com", got["identifier"])
	require.EqualValues(t, 2, got["attempt"])
}
