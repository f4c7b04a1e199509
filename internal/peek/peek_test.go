package peek_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/peek"
)

func TestConn(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	peer := <-accepted

	assert.Equal(t, peek.Empty, peek.Conn(c), "idle")
	_, err = peer.Write([]byte("x"))
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return peek.Conn(c) == peek.Pending }, 5*time.Second, time.Millisecond, "a byte waiting")
	buf := make([]byte, 1)
	_, err = c.Read(buf)
	require.NoError(t, err)
	require.NoError(t, peer.Close())
	assert.Eventually(t, func() bool { return peek.Conn(c) == peek.Closed }, 5*time.Second, time.Millisecond, "closed by the peer")

	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	assert.Equal(t, peek.Unknown, peek.Conn(p1), "no descriptor")
}
