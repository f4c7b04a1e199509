package proxy

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockingWriter holds every write until released.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestLogWriter(t *testing.T) {
	t.Parallel()
	t.Run("every line written by Close, in order", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		l := NewLogWriter(&out)
		var want strings.Builder
		for i := range 1000 {
			line := strings.Repeat("x", i%100) + "\n"
			want.WriteString(line)
			_, err := l.Write([]byte(line))
			require.NoError(t, err)
		}
		require.NoError(t, l.Close())
		assert.Equal(t, want.String(), out.String())
		assert.Zero(t, l.Dropped())
	})
	t.Run("a stuck destination drops lines instead of blocking", func(t *testing.T) {
		t.Parallel()
		w := &blockingWriter{release: make(chan struct{})}
		l := NewLogWriter(w)
		l.limit = 1 << 10
		line := []byte(strings.Repeat("y", 99) + "\n")
		for range 100 {
			n, err := l.Write(line)
			require.NoError(t, err)
			require.Equal(t, len(line), n)
		}
		assert.Positive(t, l.Dropped())
		close(w.release)
		require.NoError(t, l.Close())
		written := uint64(strings.Count(w.buf.String(), "\n"))
		assert.Equal(t, uint64(100), written+l.Dropped())
	})
	t.Run("lines after Close are dropped", func(t *testing.T) {
		t.Parallel()
		l := NewLogWriter(io.Discard)
		require.NoError(t, l.Close())
		require.NoError(t, l.Close())
		_, err := l.Write([]byte("late\n"))
		require.NoError(t, err)
		assert.Equal(t, uint64(1), l.Dropped())
	})
}
