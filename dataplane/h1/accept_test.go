package h1_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// failingListener fails its first Accept as a process out of descriptors
// does (EMFILE), then accepts.
type failingListener struct {
	net.Listener
	failed atomic.Bool
}

func (l *failingListener) Accept() (net.Conn, error) {
	if !l.failed.Swap(true) {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestServeAcceptTemporary: an accept that fails for want of descriptors
// (EMFILE, a temporary error, not a timeout) pauses Serve, which goes on
// accepting, as net/http's does; it does not end the listener.
func TestServeAcceptTemporary(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fl := &failingListener{Listener: ln}
	s := &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, _ *h1.Request) { _, _ = w.WriteString("ok") })}
	done := make(chan error, 1)
	go func() { done <- s.Serve(fl) }()
	t.Cleanup(func() {
		_ = s.Close()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, h1.ErrServerClosed)
		case <-time.After(time.Minute):
			t.Error("Serve did not return after Close")
		}
	})
	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(time.Minute)))
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the listener ended at the accept that failed")
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64))
	require.NoError(t, err)
	assert.Equal(t, "ok", string(body))
	assert.True(t, fl.failed.Load())
}
