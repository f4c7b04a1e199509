package h1_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// TestIdleConnectionMemory: a kept-alive connection waiting for its next
// request holds its small read buffer, its goroutine and its pooled
// state, within the 64 KB the data plane allows per idle client
// connection. Not parallel: the heap and stacks are measured.
func TestIdleConnectionMemory(t *testing.T) {
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		_, _ = w.WriteString("hello")
	})})
	const conns = 200
	inUse := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc + ms.StackInuse)
	}
	base := inUse()
	clients := make([]net.Conn, conns)
	for i := range clients {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		clients[i] = c
		_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: test\r\n\r\n")
		require.NoError(t, err)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	// The client side of each connection (its net.Conn, bufio.Reader) is
	// in this process too: the figure is an upper bound for the server's.
	per := (inUse() - base) / conns
	t.Logf("%d idle kept-alive connections: %d bytes each, client side included", conns, per)
	assert.Less(t, per, int64(64<<10))
}
