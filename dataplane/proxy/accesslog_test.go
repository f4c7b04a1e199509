package proxy_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestAccessLogWriter: the lines the proxy encodes itself carry what the
// slog access log carries.
func TestAccessLogWriter(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	refused := service("refused", "127.0.0.1", refusingPort(t), "")
	refused.Retries = 1
	cfg := &model.Config{
		Services: []*model.Service{service("s", b.host(), b.port(), ""), refused},
		Routes:   []*model.Route{route("r", "s", "/ok"), route("down", "refused", "/down")},
	}
	viaSlog, viaWriter := &syncBuffer{}, &syncBuffer{}
	_, front1 := newProxy(t, cfg, func(o *proxy.Options) { o.AccessLog = slog.New(slog.NewJSONHandler(viaSlog, nil)) })
	_, front2 := newProxy(t, cfg, func(o *proxy.Options) { o.AccessLogWriter = viaWriter })
	for _, path := range []string{"/ok/a%20b?q=1", "/down", "/nothing"} {
		get(t, front1, path)
		get(t, front2, path)
	}
	decode := func(logs string) []map[string]any {
		var out []map[string]any
		for line := range strings.Lines(logs) {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m), line)
			ts, err := time.Parse(time.RFC3339Nano, m["time"].(string))
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now(), ts, time.Minute)
			delete(m, "time")
			for _, k := range []string{"latency_total_ms", "latency_upstream_ms", "latency_proxy_ms"} {
				require.Contains(t, m, k)
				delete(m, k)
			}
			out = append(out, m)
		}
		return out
	}
	want, got := decode(viaSlog.String()), decode(viaWriter.String())
	require.Len(t, got, 3)
	assert.Equal(t, want, got)
	assert.Equal(t, "/ok/a b", got[0]["path"])
	assert.Equal(t, float64(1), got[1]["retries"])
	assert.Contains(t, got[1], "error")
}
