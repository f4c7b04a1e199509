package h1_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// ConnTracker is made once per connection and told its changes in order,
// instead of ConnState.
func TestConnTracker(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	made := 0
	var seen []http.ConnState
	closed := make(chan struct{})
	s := &h1.Server{Handler: h1.HandlerFunc(echo),
		ConnState: func(net.Conn, http.ConnState) { t.Error("ConnState told beside the tracker") },
		ConnTracker: func(net.Conn) func(http.ConnState) {
			mu.Lock()
			made++
			mu.Unlock()
			return func(st http.ConnState) {
				mu.Lock()
				seen = append(seen, st)
				mu.Unlock()
				if st == http.StateClosed {
					close(closed)
				}
			}
		}}
	addr := start(t, s)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	for range 2 {
		_, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		require.NoError(t, err)
		res, _ := readResponse(t, conn, rd)
		assert.Equal(t, http.StatusOK, res.StatusCode)
	}
	require.NoError(t, conn.Close())
	<-closed
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, made)
	// h1 marks a connection idle while it waits for each request's
	// first bytes, the first included.
	assert.Equal(t, []http.ConnState{http.StateNew, http.StateIdle, http.StateActive, http.StateIdle, http.StateActive,
		http.StateIdle, http.StateClosed}, seen)
}
