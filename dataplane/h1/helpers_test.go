package h1_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// echoUpgrade answers 101 with Upgrade: echo, takes the connection over
// and echoes what the client sends on it until either side closes.
func echoUpgrade(w *h1.Response) {
	w.Header().Set("Connection", "Upgrade")
	w.Header().Set("Upgrade", "echo")
	w.WriteHeader(http.StatusSwitchingProtocols)
	conn, err := w.Hijack()
	if err != nil {
		return
	}
	go func() {
		defer conn.Close()
		_, _ = io.Copy(conn, conn)
	}()
}

// start serves s on a free loopback port until the test ends and returns
// its address.
func start(t *testing.T, s *h1.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		require.ErrorIs(t, <-done, h1.ErrServerClosed)
	})
	return ln.Addr().String()
}

// echo answers every request with what the server parsed of it, after
// reading the whole body; a body the client got wrong is answered with
// its status.
func echo(w *h1.Response, r *h1.Request) {
	body, err := io.ReadAll(r.Body())
	if err != nil {
		if st := h1.StatusOf(err); st != 0 {
			w.Header().Set("Connection", "close")
			w.WriteHeader(st)
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	var b strings.Builder
	b.WriteString("method=" + string(r.Method()) + "\n")
	b.WriteString("target=" + string(r.Target()) + "\n")
	b.WriteString("path=" + string(r.Path()) + "\n")
	b.WriteString("query=" + string(r.Query()) + "\n")
	b.WriteString("host=" + string(r.Host()) + "\n")
	b.WriteString("proto=" + r.Proto() + "\n")
	for i := range r.Header().Len() {
		n, v := r.Header().At(i)
		b.WriteString("header " + string(n) + "=" + string(v) + "\n")
	}
	for i := range r.Trailer().Len() {
		n, v := r.Trailer().At(i)
		b.WriteString("trailer " + string(n) + "=" + string(v) + "\n")
	}
	b.WriteString("body=" + string(body) + "\n")
	_, _ = w.WriteString(b.String())
}

// roundTrip sends raw on a new connection and reads one final response
// (skipping 1xx ones), failing the test when none comes within a generous
// bound.
func roundTrip(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	go func() { _, _ = io.WriteString(conn, raw) }()
	return readResponse(t, conn, bufio.NewReader(conn))
}

func readResponse(t *testing.T, conn net.Conn, rd *bufio.Reader) (*http.Response, string) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	for {
		res, err := http.ReadResponse(rd, nil)
		require.NoError(t, err)
		if res.StatusCode >= 200 {
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			return res, string(body)
		}
	}
}

// closedByServer waits (within a generous bound) for the server to close
// conn.
func closedByServer(t *testing.T, conn net.Conn, rd io.Reader) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	if rd == nil {
		rd = conn
	}
	_, err := io.Copy(io.Discard, rd)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the connection open")
	}
}

// eventually polls cond within a generous bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
