package counters_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/counters"
)

func TestFailureLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	f := counters.NewFailureLog(slog.New(slog.NewTextHandler(&buf, nil)), time.Hour)
	for range 5 {
		f.Error("store down", "error", "refused")
	}
	require.Equal(t, 1, strings.Count(buf.String(), "store down"), "one line per interval")

	buf.Reset()
	g := counters.NewFailureLog(slog.New(slog.NewTextHandler(&buf, nil)), time.Nanosecond)
	g.Error("a")
	time.Sleep(time.Millisecond)
	g.Error("b")
	require.Equal(t, 2, strings.Count(buf.String(), "msg="))
}
