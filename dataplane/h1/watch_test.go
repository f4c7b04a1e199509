package h1_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// waitDone waits, within a generous bound, for ctx to end and returns its
// cause; nil when it did not end.
func waitDone(ctx context.Context) error {
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// TestContextCanceledOnClientClose: a client that closes its connection
// while its request is in flight cancels the request's context at once
// (cause ErrClientClosed), with or without a body, not at the next write.
func TestContextCanceledOnClientClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, raw string
	}{
		{"no body", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"length body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"},
		{"chunked body", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{"expect continue", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			started := make(chan struct{})
			causes := make(chan error, 1)
			addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(_ *h1.Response, r *h1.Request) {
				body, err := io.ReadAll(r.Body())
				if err != nil || len(body) != int(max(r.ContentLength(), 0)) && !r.Chunked() {
					causes <- err
					return
				}
				close(started)
				causes <- waitDone(r.Context())
			})})
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			_, err = io.WriteString(conn, tc.raw)
			require.NoError(t, err)
			<-started
			require.NoError(t, conn.Close())
			assert.ErrorIs(t, <-causes, h1.ErrClientClosed)
		})
	}
}

// TestWatchKeepsPipelinedRequest: a request that arrives while the one
// before is in flight, and whose first byte the watch read, is served
// whole; the first request's context is not canceled.
func TestWatchKeepsPipelinedRequest(t *testing.T) {
	t.Parallel()
	reading := make(chan struct{})
	errs := make(chan error, 1)
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		if string(r.Path()) == "/slow" {
			_ = r.Context()
			eventually(t, "the watch reads", func() bool { return h1.WatchPhase(r) == "reading" })
			close(reading)
			eventually(t, "the watch reads the next request", func() bool { return h1.WatchGotByte(r) })
			errs <- r.Context().Err()
		}
		echo(w, r)
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	<-reading
	_, err = io.WriteString(conn, "POST /next HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	require.NoError(t, err)
	require.NoError(t, <-errs)
	rd := bufio.NewReader(conn)
	for _, want := range []string{"path=/slow\n", "body=hello\n"} {
		res, body := readResponse(t, conn, rd)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, want)
	}
}

// TestWatchOnlyWithContext: a handler that does not ask for its context
// leaves the connection unwatched.
func TestWatchOnlyWithContext(t *testing.T) {
	t.Parallel()
	phases := make(chan string, 1)
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		phases <- h1.WatchPhase(r)
		echo(w, r)
	})})
	res, _ := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "off", <-phases)
}

// TestWatchPipelinedBuffered: requests sent at once are all served; the
// watch has nothing to do when the next request is already buffered,
// after a body or without one.
func TestWatchPipelinedBuffered(t *testing.T) {
	t.Parallel()
	phases := make(chan string, 2)
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		if string(r.Path()) == "/first" {
			_ = r.Context()
			body, _ := io.ReadAll(r.Body())
			phases <- h1.WatchPhase(r)
			_, _ = w.Write(body)
			return
		}
		echo(w, r)
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"+
		"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	_, body := readResponse(t, conn, rd)
	assert.Equal(t, "ok", body)
	_, body = readResponse(t, conn, rd)
	assert.Empty(t, body)
	_, body = readResponse(t, conn, rd)
	assert.Contains(t, body, "path=/3\n")
	assert.Equal(t, "none", <-phases)
	assert.Equal(t, "none", <-phases)
}

// TestWatchKeepAlive: a connection whose request was watched serves the
// next one as before, and the earlier context ended only with its
// handler.
func TestWatchKeepAlive(t *testing.T) {
	t.Parallel()
	errs := make(chan error, 1)
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		if string(r.Path()) == "/slow" {
			ctx := r.Context()
			eventually(t, "the watch reads", func() bool { return h1.WatchPhase(r) == "reading" })
			errs <- ctx.Err()
		}
		echo(w, r)
	}), Limits: h1.Limits{KeepaliveTimeout: time.Minute}})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	rd := bufio.NewReader(conn)
	// Quick requests between the slow ones keep the watch's timer
	// ticking: each slow one is still watched.
	paths := []string{"/slow", "/2", "/slow", "/4"}
	for i := range 20 {
		paths = append(paths, "/q"+strconv.Itoa(i))
	}
	paths = append(paths, "/slow", "/last")
	for _, path := range paths {
		_, err = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		res, body := readResponse(t, conn, rd)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, "path="+path+"\n")
		assert.False(t, res.Close)
		if path == "/slow" {
			require.NoError(t, <-errs)
		}
	}
}

// TestWatchStreamingUpload: while the body is still arriving the watch
// waits for its end and takes none of its bytes; then it watches.
func TestWatchStreamingUpload(t *testing.T) {
	t.Parallel()
	fired, ended := make(chan struct{}), make(chan struct{})
	got := make(chan string, 1)
	causes := make(chan error, 1)
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(_ *h1.Response, r *h1.Request) {
		ctx := r.Context()
		buf := make([]byte, 3)
		if _, err := io.ReadFull(r.Body(), buf); err != nil {
			got <- err.Error()
			return
		}
		eventually(t, "the delay passes", func() bool { return h1.WatchPhase(r) == "fired" })
		close(fired)
		rest, err := io.ReadAll(r.Body())
		got <- string(buf) + string(rest) + errString(err)
		eventually(t, "the watch reads", func() bool { return h1.WatchPhase(r) == "reading" })
		close(ended)
		causes <- waitDone(ctx)
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel")
	require.NoError(t, err)
	<-fired
	_, err = io.WriteString(conn, "lo")
	require.NoError(t, err)
	assert.Equal(t, "hello", <-got)
	<-ended
	require.NoError(t, conn.Close())
	assert.ErrorIs(t, <-causes, h1.ErrClientClosed)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}

// TestWatchHijack: bytes the watch read before a hijack reach the
// hijacker first.
func TestWatchHijack(t *testing.T) {
	t.Parallel()
	reading := make(chan struct{})
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		_ = r.Context()
		eventually(t, "the watch reads", func() bool { return h1.WatchPhase(r) == "reading" })
		close(reading)
		eventually(t, "the watch reads a byte", func() bool { return h1.WatchGotByte(r) })
		echoUpgrade(w)
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	require.NoError(t, err)
	<-reading
	_, err = io.WriteString(conn, "early")
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	res, err := http.ReadResponse(rd, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
	got := make([]byte, len("early"))
	_, err = io.ReadFull(rd, got)
	require.NoError(t, err)
	assert.Equal(t, "early", string(got))
}

// abortRecorder is an h1.Aborter that reports its calls on a channel.
type abortRecorder struct{ causes chan error }

func (a *abortRecorder) Abort(cause error) { a.causes <- cause }

// TestOnAbort: a handler that registered an Aborter instead of asking for
// a context is told when its client closes the connection
// (ErrClientClosed) or the server closes (ErrServerClosed), once; a
// request that ends first never tells it, even when the client leaves
// afterwards.
func TestOnAbort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		// serverClose: the server's close ends the request in flight,
		// else the client's.
		serverClose bool
		want        error
	}{
		{"client closes", false, h1.ErrClientClosed},
		{"server closes", true, h1.ErrServerClosed},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			started, release := make(chan struct{}), make(chan struct{})
			a := &abortRecorder{causes: make(chan error, 2)}
			s := &h1.Server{Handler: h1.HandlerFunc(func(_ *h1.Response, r *h1.Request) {
				r.OnAbort(a)
				close(started)
				<-release
			})}
			addr := start(t, s)
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			require.NoError(t, err)
			<-started
			if tc.serverClose {
				require.NoError(t, s.Close())
			} else {
				require.NoError(t, conn.Close())
			}
			select {
			case cause := <-a.causes:
				assert.ErrorIs(t, cause, tc.want)
			case <-time.After(20 * time.Second):
				t.Fatal("Abort not called")
			}
			close(release)
			select {
			case cause := <-a.causes:
				t.Fatalf("Abort called twice (%v)", cause)
			default:
			}
		})
	}

	t.Run("request ends first", func(t *testing.T) {
		t.Parallel()
		a := &abortRecorder{causes: make(chan error, 2)}
		s := &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
			r.OnAbort(a)
			_, _ = io.WriteString(w, "ok")
		})}
		addr := start(t, s)
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		// The response is written after the request ended (the Aborter
		// forgotten); the connection is still open, so the server's
		// close, which tells the Aborters of the requests in flight,
		// would tell a kept one.
		require.NoError(t, s.Close())
		assert.Empty(t, a.causes)
	})
}

// TestOnAbortAfterContext: an Aborter registered after the request's
// context was canceled (the client left between Context and OnAbort) is
// told at once rather than never.
func TestOnAbortAfterContext(t *testing.T) {
	t.Parallel()
	a := &abortRecorder{causes: make(chan error, 2)}
	gone, registered := make(chan struct{}), make(chan struct{})
	s := &h1.Server{Handler: h1.HandlerFunc(func(_ *h1.Response, r *h1.Request) {
		ctx := r.Context()
		close(gone)
		<-ctx.Done()
		r.OnAbort(a)
		close(registered)
	})}
	addr := start(t, s)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	<-gone
	require.NoError(t, conn.Close())
	<-registered
	select {
	case cause := <-a.causes:
		assert.ErrorIs(t, cause, h1.ErrClientClosed)
	default:
		t.Fatal("Abort not called for a request already abandoned")
	}
}

// TestOnAbortForget: OnAbort(nil) forgets the Aborter while the handler
// still runs: the server's close, which tells the Aborter of a request in
// flight, does not tell it (the handler may then reuse it).
func TestOnAbortForget(t *testing.T) {
	t.Parallel()
	a := &abortRecorder{causes: make(chan error, 2)}
	forgotten, release := make(chan struct{}), make(chan struct{})
	s := &h1.Server{Handler: h1.HandlerFunc(func(_ *h1.Response, r *h1.Request) {
		r.OnAbort(a)
		r.OnAbort(nil)
		close(forgotten)
		<-release
	})}
	addr := start(t, s)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	<-forgotten
	require.NoError(t, s.Close())
	close(release)
	assert.Empty(t, a.causes)
}
