package h1_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
)

// TestResponseFraming: the server frames what the handler writes.
func TestResponseFraming(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 10000)
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		switch string(r.Path()) {
		case "/small":
			_, _ = w.WriteString("hello")
		case "/big":
			_, _ = w.WriteString(big)
		case "/length":
			w.Header().Set("Content-Length", "5")
			_, _ = w.WriteString("hello")
		case "/short":
			w.Header().Set("Content-Length", "10")
			_, _ = w.WriteString("hello")
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/split":
			w.Header().Add("X-Evil", "a\r\nSet-Cookie: b")
			w.Header().Add("Bad Name", "c")
		case "/trailer":
			w.Trailer().Add("X-Sum", "42")
			_, _ = w.WriteString("hello")
		}
	})})
	tests := []struct {
		desc, raw    string
		wantBody     string
		wantLength   int64
		wantChunked  bool
		wantClose    bool
		wantHeader   map[string]string
		wantTrailer  string
		noHeaderLike string
	}{
		{desc: "a small body gets a length", raw: "GET /small HTTP/1.1\r\nHost: x\r\n\r\n", wantBody: "hello", wantLength: 5},
		{desc: "a big body is chunked", raw: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", wantBody: big, wantLength: -1, wantChunked: true},
		{desc: "HTTP/1.0 ends a big body by closing", raw: "GET /big HTTP/1.0\r\n\r\n", wantBody: big, wantLength: -1, wantClose: true},
		{desc: "HTTP/1.0 keep-alive", raw: "GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", wantBody: "hello", wantLength: 5,
			wantHeader: map[string]string{"Connection": "keep-alive"}},
		{desc: "the handler's length", raw: "GET /length HTTP/1.1\r\nHost: x\r\n\r\n", wantBody: "hello", wantLength: 5},
		{desc: "HEAD has no body", raw: "HEAD /length HTTP/1.1\r\nHost: x\r\n\r\n", wantLength: 5},
		{desc: "204", raw: "GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\n", wantLength: 0},
		{desc: "a field cannot split the response", raw: "GET /split HTTP/1.1\r\nHost: x\r\n\r\n", wantLength: 0,
			wantHeader: map[string]string{"X-Evil": "a  Set-Cookie: b"}, noHeaderLike: "Set-Cookie"},
		{desc: "trailers", raw: "GET /trailer HTTP/1.1\r\nHost: x\r\n\r\n", wantBody: "hello", wantLength: -1, wantChunked: true, wantTrailer: "42"},
		{desc: "Connection: close", raw: "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", wantBody: "hello", wantLength: 5, wantClose: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, tt.raw)
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			req, _ := http.NewRequest(strings.Fields(tt.raw)[0], "/", nil)
			res, err := http.ReadResponse(bufio.NewReader(conn), req)
			require.NoError(t, err)
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.wantBody, string(body))
			assert.Equal(t, tt.wantLength, res.ContentLength)
			assert.Equal(t, tt.wantChunked, len(res.TransferEncoding) > 0)
			assert.Equal(t, tt.wantClose, res.Close)
			assert.NotEmpty(t, res.Header.Get("Date"))
			for k, v := range tt.wantHeader {
				assert.Equal(t, v, res.Header.Get(k))
			}
			if tt.noHeaderLike != "" {
				assert.Empty(t, res.Header.Get(tt.noHeaderLike))
			}
			if tt.wantTrailer != "" {
				assert.Equal(t, tt.wantTrailer, res.Trailer.Get("X-Sum"))
			}
		})
	}
	t.Run("a short body closes the connection", func(t *testing.T) {
		t.Parallel()
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET /short HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		closedByServer(t, conn, nil)
	})
}

// TestPipelining: requests sent back to back are answered in order on
// one connection, each body read where it belongs.
func TestPipelining(t *testing.T) {
	t.Parallel()
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(echo)})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	reqs := "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /3" + chunkedPost[6:] + "3\r\nabc\r\n0\r\n\r\n" +
		"GET /4 HTTP/1.1\r\nHost: x\r\n\r\n"
	_, err = io.WriteString(conn, reqs)
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	for _, want := range []string{"path=/1\n", "body=hello\n", "body=abc\n", "path=/4\n"} {
		res, body := readResponse(t, conn, rd)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, want)
	}
}

// TestExpectContinue: "100 Continue" is sent when the handler reads the
// body, not before; a handler that answers without reading gets the
// connection closed after its response.
func TestExpectContinue(t *testing.T) {
	t.Parallel()
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		if string(r.Path()) == "/refuse" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		echo(w, r)
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	res, err := http.ReadResponse(rd, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusContinue, res.StatusCode)
	_, err = io.WriteString(conn, "hello")
	require.NoError(t, err)
	res, body := readResponse(t, conn, rd)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "body=hello\n")

	_, err = io.WriteString(conn, "POST /refuse HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	require.NoError(t, err)
	res, _ = readResponse(t, conn, rd)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.True(t, res.Close)
	closedByServer(t, conn, rd)
}

// TestStreaming: request bodies reach the handler while the client is
// still sending, and flushed response bytes reach the client before the
// response ends (SSE).
func TestStreaming(t *testing.T) {
	t.Parallel()
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		rd := bufio.NewReader(r.Body())
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = w.WriteString("data: " + line + "\n")
			_ = w.Flush()
		}
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, chunkedPost+"6\r\nfirst\n\r\n")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	rd := bufio.NewReader(conn)
	res, err := http.ReadResponse(rd, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"chunked"}, res.TransferEncoding)
	events := bufio.NewReader(res.Body)
	line, err := events.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "data: first\n", line, "the first event arrives while the request is still open")
	_, err = io.WriteString(conn, "7\r\nsecond\n\r\n0\r\n\r\n")
	require.NoError(t, err)
	_, _ = events.ReadString('\n')
	line, err = events.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "data: second\n", line)
}

// TestRequestTrailer: a chunked body's trailer is read with it.
func TestRequestTrailer(t *testing.T) {
	t.Parallel()
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(echo)})
	res, body := roundTrip(t, addr, chunkedPost+"5\r\nhello\r\n0\r\nX-Sum: 42\r\nX-Other: a\r\n\r\n")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "trailer X-Sum=42\ntrailer X-Other=a\n")
}

// TestHijack: a WebSocket-style upgrade hands the connection over, with
// the bytes the client sent right after the head.
func TestHijack(t *testing.T) {
	t.Parallel()
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		require.True(t, r.Upgrade())
		echoUpgrade(w)
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly ")
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	res, err := http.ReadResponse(rd, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
	_, err = io.WriteString(conn, "late")
	require.NoError(t, err)
	got := make([]byte, len("early late"))
	_, err = io.ReadFull(rd, got)
	require.NoError(t, err)
	assert.Equal(t, "early late", string(got))
}

// TestShutdown: a graceful shutdown closes idle connections, lets the
// request in flight finish with "Connection: close", then returns.
func TestShutdown(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{})
	s := &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		if string(r.Path()) == "/slow" {
			close(entered)
			<-release
		}
		_, _ = w.WriteString("done")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	idle, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer idle.Close()
	_, err = io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	idleRd := bufio.NewReader(idle)
	res, _ := readResponse(t, idle, idleRd)
	require.False(t, res.Close)
	busy, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer busy.Close()
	_, err = io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	closedByServer(t, idle, idleRd)
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	close(release)
	res, body := readResponse(t, busy, bufio.NewReader(busy))
	assert.Equal(t, "done", body)
	assert.True(t, res.Close, "the response in flight closes its connection")
	require.NoError(t, <-shut)
	require.ErrorIs(t, <-served, h1.ErrServerClosed)
	_, err = net.Dial("tcp", ln.Addr().String())
	assert.Error(t, err, "the listener is closed")
}

// TestTLS: one TLS listener serves HTTP/1.1 itself and hands connections
// that negotiated h2 to net/http's HTTP/2 server.
func TestTLS(t *testing.T) {
	t.Parallel()
	cert := httptest.NewUnstartedServer(nil)
	cert.EnableHTTP2 = true
	cert.StartTLS()
	certs := cert.TLS.Certificates
	pool := cert.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	cert.Close()
	cfg := &tls.Config{Certificates: certs, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ho := h1.NewHandoff(ln.Addr())
	h2 := &http.Server{TLSConfig: cfg.Clone(), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "h2 "+r.Proto)
	})}
	go func() { _ = h2.Serve(ho) }()
	var states atomic.Int64
	s := &h1.Server{TLSConfig: cfg, HTTP2: ho.Hand, ConnState: func(net.Conn, http.ConnState) { states.Add(1) },
		Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
			_, _ = w.WriteString("h1 " + r.Proto() + " " + r.TLS().ServerName)
		})}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		_ = h2.Close()
		_ = ho.Close()
	})
	for _, tt := range []struct {
		desc  string
		h2    bool
		wantB string
	}{
		{desc: "HTTP/1.1", wantB: "h1 HTTP/1.1 example.com"},
		{desc: "HTTP/2", h2: true, wantB: "h2 HTTP/2.0"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"}, ForceAttemptHTTP2: tt.h2}
			if !tt.h2 {
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			}
			defer tr.CloseIdleConnections()
			res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + ln.Addr().String() + "/")
			require.NoError(t, err)
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			assert.Equal(t, tt.wantB, string(body))
		})
	}
	assert.Positive(t, states.Load(), "ConnState is told")
}

// TestPriorKnowledge: a plain connection that opens with HTTP/2's
// preface goes to the HTTP/2 server (h2c with prior knowledge); without
// one the preface is answered 505.
func TestPriorKnowledge(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ho := h1.NewHandoff(ln.Addr())
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Server{Protocols: p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "h2 "+r.Proto)
	})}
	go func() { _ = h2.Serve(ho) }()
	s := &h1.Server{HTTP2: ho.Hand, Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		_, _ = w.WriteString("h1 " + r.Proto())
	})}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		_ = h2.Close()
		_ = ho.Close()
	})
	for _, tt := range []struct {
		desc string
		h2c  bool
		want string
	}{
		{desc: "HTTP/1.1", want: "h1 HTTP/1.1"},
		{desc: "h2c", h2c: true, want: "h2 HTTP/2.0"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			cp := new(http.Protocols)
			cp.SetHTTP1(!tt.h2c)
			cp.SetUnencryptedHTTP2(tt.h2c)
			tr := &http.Transport{Protocols: cp}
			defer tr.CloseIdleConnections()
			res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://" + ln.Addr().String() + "/")
			require.NoError(t, err)
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			assert.Equal(t, tt.want, string(body))
		})
	}
	plain := start(t, &h1.Server{})
	res, _ := roundTrip(t, plain, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	assert.Equal(t, http.StatusHTTPVersionNotSupported, res.StatusCode, "without HTTP2 the preface is refused")
}

// TestPanicCloses: a handler's panic closes its connection; the server
// goes on serving others.
func TestPanicCloses(t *testing.T) {
	t.Parallel()
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		if string(r.Path()) == "/panic" {
			panic("boom")
		}
		_, _ = w.WriteString("ok")
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	closedByServer(t, conn, nil)
	_, body := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	assert.Equal(t, "ok", body)
}

// TestEarlyHints: a 103 goes out with the fields set so far, before the
// final response.
func TestEarlyHints(t *testing.T) {
	t.Parallel()
	addr := start(t, &h1.Server{Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		_, _ = w.WriteString("final")
	})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	hints, err := http.ReadResponse(rd, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusEarlyHints, hints.StatusCode)
	assert.Equal(t, "</style.css>; rel=preload", hints.Header.Get("Link"))
	res, body := readResponse(t, conn, rd)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, res.Header.Get("Link"))
	assert.Equal(t, "final", body)
}

// TestSendTimeout: a client that stops reading a response is dropped
// after SendTimeout; the handler's write fails.
func TestSendTimeout(t *testing.T) {
	t.Parallel()
	failed := make(chan error, 1)
	addr := start(t, &h1.Server{Limits: h1.Limits{SendTimeout: 100 * time.Millisecond},
		Handler: h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
			chunk := make([]byte, 64<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					failed <- err
					return
				}
			}
		})})
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	select {
	case err := <-failed:
		var ne net.Error
		assert.ErrorAs(t, err, &ne)
	case <-time.After(20 * time.Second):
		t.Fatal("the write never timed out")
	}
}
