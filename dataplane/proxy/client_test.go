package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

// proxyTo returns a proxy with one route, /, to a service at addr that
// retries nothing.
func proxyTo(t *testing.T, addr string) *proxytest.Server {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := net.LookupPort("tcp", p)
	require.NoError(t, err)
	svc := service("s", host, port, "")
	svc.Retries = 0
	cfg := &model.Config{Services: []*model.Service{svc},
		Routes: []*model.Route{route("r", "s", "/")}}
	_, front := newProxy(t, cfg)
	return front
}

func TestUpstreamConnectionReuse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc      string
		method    string
		handler   http.HandlerFunc
		wantConns int64
	}{
		{"keep-alive GET", http.MethodGet, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }, 1},
		{"HEAD", http.MethodHead, func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Content-Length", "2") }, 1},
		{"no content", http.MethodGet, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, 1},
		{"chunked", http.MethodGet, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "o")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "k")
		}, 1},
		{"Connection: close", http.MethodGet, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "ok")
		}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			addr, conns := countingUpstream(t, tc.handler)
			url := proxyTo(t, addr).URL
			for range 5 {
				req, err := http.NewRequestWithContext(t.Context(), tc.method, url+"/", nil)
				require.NoError(t, err)
				req.Header.Set(rawTokenField, t.Name())
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				require.Less(t, res.StatusCode, 300)
			}
			assert.Equal(t, tc.wantConns, conns.Load())
		})
	}
}

// countingUpstream serves h and counts the connections that carried a
// request of this test's (rawTokenField set to t.Name()): other tests'
// proxies may connect to its port (see rawUpstream).
func countingUpstream(t *testing.T, h http.HandlerFunc) (addr string, conns *atomic.Int64) {
	t.Helper()
	type connKey struct{}
	conns = new(atomic.Int64)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		// Each connection gets a flag its first request of this test's sets.
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, new(atomic.Bool))
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get(rawTokenField) == t.Name() && r.Context().Value(connKey{}).(*atomic.Bool).CompareAndSwap(false, true) {
				conns.Add(1)
			}
			h(w, r)
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), conns
}

// TestUpstreamClosedIdleConnection: an upstream that closes a keep-alive
// connection after each response (its keepalive_timeout) costs the client
// nothing, even without retries: the request is sent again on a new
// connection.
func TestUpstreamClosedIdleConnection(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	front := proxyTo(t, ln.Addr().String())
	for range 5 {
		res, e := get(t, front, "/")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "ok", e.Body)
	}
	assert.Equal(t, int64(5), accepted.Load())
}

// TestUpstreamRequestCanceled: a client that goes away ends its upstream
// request, before the response's head, while its body streams, and while
// a route that buffers responses still spools it (the upstream has sent
// part of the body and waits); on goroutines and on event loops. The
// upstream's read_timeout is longer than the wait: only the client's
// leaving ends the request in time.
func TestUpstreamRequestCanceled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		// partial: the upstream sends part of its body, then waits.
		partial bool
		// spooled: the client leaves without having read any of it.
		// Otherwise, with partial, the client reads the part, which
		// the route (buffering responses, Kong's default) passes on
		// before the body's end, on a loop too (loopSpool).
		spooled bool
	}{
		{desc: "before the headers"},
		{desc: "during the body", partial: true},
		{desc: "while the body is spooled", partial: true, spooled: true},
	}
	for _, fe := range frontends {
		for _, tc := range tests {
			t.Run(fe.name+"/"+tc.desc, func(t *testing.T) {
				t.Parallel()
				canceled := make(chan struct{})
				started := make(chan struct{})
				b := newBackend(t, "b", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if tc.partial {
						w.Header().Set("Content-Length", "100")
						_, _ = io.WriteString(w, "part")
						w.(http.Flusher).Flush()
					}
					close(started)
					<-r.Context().Done()
					close(canceled)
				}))
				svc := service("s", b.host(), b.port(), "")
				svc.Retries, svc.ReadTimeout = 0, int((10 * time.Minute).Milliseconds())
				r := route("r", "s", "/")
				require.True(t, r.ResponseBuffering)
				_, front := newProxy(t, &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{r}},
					withEventLoop(fe.eventLoop))
				switch {
				case tc.spooled:
					conn, err := net.Dial("tcp", strings.TrimPrefix(front.URL, "http://"))
					require.NoError(t, err)
					_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
					require.NoError(t, err)
					waitClosed(t, started, "the upstream request")
					require.NoError(t, conn.Close())
				case tc.partial:
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					req, err := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/", nil)
					require.NoError(t, err)
					res, err := http.DefaultClient.Do(req)
					require.NoError(t, err)
					buf := make([]byte, 4)
					_, err = io.ReadFull(res.Body, buf)
					require.NoError(t, err)
					assert.Equal(t, "part", string(buf))
					cancel()
					res.Body.Close()
				default:
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					req, err := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/", nil)
					require.NoError(t, err)
					go func() {
						<-started
						cancel()
					}()
					_, err = http.DefaultClient.Do(req)
					require.Error(t, err)
				}
				select {
				case <-canceled:
				case <-time.After(time.Minute):
					t.Fatal("the upstream request outlived its client by a minute")
				}
			})
		}
	}
}

// TestClientAbortLogged: a client that closes its connection while the
// proxy waits for the upstream ends the upstream request at once and is
// logged with nginx's 499, as proxy_ignore_client_abort off does.
func TestClientAbortLogged(t *testing.T) {
	t.Parallel()
	// The slog access log goes through the adapter, the line writer
	// through the native path (native.go).
	for name, opt := range map[string]func(o *proxy.Options, logs io.Writer){
		"slog":   func(o *proxy.Options, logs io.Writer) { o.AccessLog = slog.New(slog.NewJSONHandler(logs, nil)) },
		"writer": func(o *proxy.Options, logs io.Writer) { o.AccessLogWriter = logs },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			started, canceled := make(chan struct{}), make(chan struct{})
			b := newBackend(t, "b", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				close(started)
				<-r.Context().Done()
				close(canceled)
			}))
			host, p, err := net.SplitHostPort(b.addr)
			require.NoError(t, err)
			port, err := net.LookupPort("tcp", p)
			require.NoError(t, err)
			svc := service("s", host, port, "")
			svc.Retries = 0
			cfg := &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{route("r", "s", "/")}}
			logs := &syncBuffer{}
			_, front := newProxy(t, cfg, func(o *proxy.Options) { opt(o, logs) })
			conn, err := net.Dial("tcp", strings.TrimPrefix(front.URL, "http://"))
			require.NoError(t, err)
			_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
			require.NoError(t, err)
			waitClosed(t, started, "the upstream request")
			require.NoError(t, conn.Close())
			waitClosed(t, canceled, "the upstream request canceled")
			eventually(t, "the access log line", func() bool { return strings.Contains(logs.String(), `"status":499`) })
		})
	}
}

func TestUpstreamTrailersAndEarlyHints(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Trailer", "X-Checksum")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Checksum", "abc")
	}))
	url := proxyTo(t, b.addr).URL
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == http.StatusEarlyHints {
			hints = append(hints, h.Get("Link"))
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url+"/", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, "body", string(body))
	assert.Equal(t, "abc", res.Trailer.Get("X-Checksum"))
	assert.Equal(t, []string{"</style.css>; rel=preload"}, hints)
}

// bodySeen is what bodyEcho answers: the framing and body the upstream
// got.
type bodySeen struct {
	Length   int64    `json:"length"`
	Chunked  bool     `json:"chunked"`
	Expect   string   `json:"expect"`
	Body     string   `json:"body"`
	Trailer  string   `json:"trailer"`
	Encoding []string `json:"encoding"`
}

func bodyEcho(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	_ = json.NewEncoder(w).Encode(bodySeen{Length: r.ContentLength, Chunked: slices.Contains(r.TransferEncoding, "chunked"),
		Expect: r.Header.Get("Expect"), Body: string(b), Trailer: r.Trailer.Get("X-Sum"), Encoding: r.TransferEncoding})
}

// TestUpstreamRequestBodies: bodies reach the upstream on the data
// plane's client as Kong sends them, on one kept-alive connection:
// buffered ones (request_buffering) with a Content-Length, streamed ones
// as the client framed them, chunked with their trailer fields.
func TestUpstreamRequestBodies(t *testing.T) {
	t.Parallel()
	large := strings.Repeat("0123456789", 5000)
	tests := []struct {
		desc     string
		streamed bool
		body     string
		chunked  bool
		want     bodySeen
	}{
		{desc: "buffered, Content-Length", body: "hello", want: bodySeen{Length: 5, Body: "hello"}},
		{desc: "buffered, chunked", body: "hello", chunked: true, want: bodySeen{Length: 5, Body: "hello"}},
		{desc: "buffered, large", body: large, chunked: true, want: bodySeen{Length: int64(len(large)), Body: large}},
		{desc: "buffered, empty", want: bodySeen{Length: 0}},
		{desc: "streamed, Content-Length", streamed: true, body: large,
			want: bodySeen{Length: int64(len(large)), Body: large}},
		{desc: "streamed, chunked", streamed: true, body: large, chunked: true,
			want: bodySeen{Length: -1, Chunked: true, Body: large, Encoding: []string{"chunked"}}},
		{desc: "streamed, empty", streamed: true, want: bodySeen{Length: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			b := newBackend(t, "b", http.HandlerFunc(bodyEcho))
			var opts []func(*model.Route)
			if tc.streamed {
				opts = append(opts, unbufferedRequests)
			}
			e := edgeTo(t, b.addr, proxy.Limits{}, opts...)
			for range 3 {
				var rd io.Reader = strings.NewReader(tc.body)
				if tc.chunked {
					rd = io.MultiReader(rd) // hides the length: sent chunked
				}
				res, err := http.Post("http://"+e.addr+"/", "text/plain", rd)
				require.NoError(t, err)
				raw, err := io.ReadAll(res.Body)
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, http.StatusOK, res.StatusCode)
				var got bodySeen
				require.NoError(t, json.Unmarshal(raw, &got))
				assert.Equal(t, tc.want, got)
			}
			assert.Equal(t, int64(1), b.conns.Load(), "one upstream connection, kept alive")
		})
	}
}

// TestUpstreamRequestTrailers: a streamed chunked body's trailer fields
// reach the upstream.
func TestUpstreamRequestTrailers(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", http.HandlerFunc(bodyEcho))
	e := edgeTo(t, b.addr, proxy.Limits{}, unbufferedRequests)
	conn, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"+
		"5\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n")
	require.NoError(t, err)
	res, body := rawResponse(t, conn)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	var got bodySeen
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Equal(t, "hello", got.Body)
	assert.Equal(t, "42", got.Trailer)
}

// TestUpstreamExpectContinue: a client waiting for "100 Continue" gets
// it and its body reaches the upstream, which does not see the
// expectation: nginx answers it and never forwards Expect.
func TestUpstreamExpectContinue(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", http.HandlerFunc(bodyEcho))
	for _, streamed := range []bool{false, true} {
		var opts []func(*model.Route)
		if streamed {
			opts = append(opts, unbufferedRequests)
		}
		e := edgeTo(t, b.addr, proxy.Limits{}, opts...)
		conn, err := net.Dial("tcp", e.addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		require.NoError(t, err)
		br := bufio.NewReader(conn)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		res, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusContinue, res.StatusCode, "streamed %v", streamed)
		_, err = io.WriteString(conn, "hello")
		require.NoError(t, err)
		for {
			res, err = http.ReadResponse(br, nil)
			require.NoError(t, err)
			if res.StatusCode != http.StatusContinue {
				break
			}
		}
		require.Equal(t, http.StatusOK, res.StatusCode)
		var got bodySeen
		require.NoError(t, json.NewDecoder(res.Body).Decode(&got))
		assert.Equal(t, bodySeen{Length: 5, Body: "hello"}, got, "streamed %v", streamed)
	}
}

// rawBodyUpstream serves every connection with serve, counting the
// requests whose head it read.
func rawBodyUpstream(t *testing.T, serve func(c net.Conn, br *bufio.Reader, req *http.Request)) (addr string, requests *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	requests = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					requests.Add(1)
					serve(c, br, req)
				}
			}()
		}
	}()
	return ln.Addr().String(), requests
}

// TestUpstreamClosesMidBody: an upstream that closes the connection
// while the body is sent is answered 502 and not tried again, whatever
// the retries: the body was (partly) sent.
func TestUpstreamClosesMidBody(t *testing.T) {
	t.Parallel()
	for _, streamed := range []bool{false, true} {
		addr, requests := rawBodyUpstream(t, func(c net.Conn, _ *bufio.Reader, req *http.Request) {
			_, _ = io.CopyN(io.Discard, req.Body, 1000)
			c.Close()
		})
		host, port := splitAddr(t, addr)
		svc := service("s", host, port, "")
		svc.Retries = 3
		r := route("r", "s", "/")
		r.RequestBuffering = !streamed
		_, front := newProxy(t, &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{r}})
		res, err := http.Post(front.URL+"/", "text/plain", strings.NewReader(strings.Repeat("x", 1<<20)))
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusBadGateway, res.StatusCode, "streamed %v", streamed)
		assert.Equal(t, int64(1), requests.Load(), "streamed %v: tried once", streamed)
	}
}

// TestUpstreamAnswersBeforeBody: an upstream answering before it read
// the body is relayed while the client is still sending; its connection
// is not reused.
func TestUpstreamAnswersBeforeBody(t *testing.T) {
	t.Parallel()
	answered := make(chan struct{})
	var conns atomic.Int64
	addr, _ := rawBodyUpstream(t, func(c net.Conn, br *bufio.Reader, req *http.Request) {
		if req.Method == http.MethodGet {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return
		}
		conns.Add(1)
		_, _ = io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nnope")
		close(answered)
		// What comes of the body is read and dropped.
		_, _ = io.Copy(io.Discard, br)
	})
	e := edgeTo(t, addr, proxy.Limits{}, unbufferedRequests)
	conn, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789")
	require.NoError(t, err)
	res, body := rawResponse(t, conn)
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	assert.Equal(t, "nope", body)
	<-answered
	// The next request gets a connection of its own.
	other, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	defer other.Close()
	_, err = io.WriteString(other, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	res, body = rawResponse(t, other)
	assert.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "ok", body)
}

// TestUpstreamClosedIdleConnectionBody: a request that cannot be sent
// twice (a body, POST) is not sent on a pooled connection the upstream
// has closed: all succeed with retries at 0.
func TestUpstreamClosedIdleConnectionBody(t *testing.T) {
	t.Parallel()
	var first atomic.Bool
	addr, requests := rawBodyUpstream(t, func(c net.Conn, _ *bufio.Reader, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		first.Store(true)
		// Then closes the connection, without a word (its keepalive_timeout).
		c.Close()
	})
	front := proxyTo(t, addr)
	for i := range 5 {
		// The previous connection's close has arrived (the proxy waits for
		// nothing when its response ended).
		eventually(t, "the close", func() bool { return i == 0 || first.Load() })
		first.Store(false)
		res, err := front.Client().Post(front.URL+"/", "text/plain", strings.NewReader("payload"))
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	}
	assert.Equal(t, int64(5), requests.Load())
}

// TestUpstreamInformationalFlood: the informational heads the client does
// not get ("100 Continue") count with the final head against the 64 KiB
// bound, as http.Transport counts them: an upstream sending them without
// end is answered 502 rather than read forever.
func TestUpstreamInformationalFlood(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		continues int
		want      int
	}{
		{3, http.StatusOK},
		{4000, http.StatusBadGateway},
	} {
		addr, _ := rawBodyUpstream(t, func(c net.Conn, _ *bufio.Reader, _ *http.Request) {
			w := bufio.NewWriter(c)
			for range tc.continues {
				_, _ = w.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			}
			_, _ = w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			_ = w.Flush()
		})
		host, port := splitAddr(t, addr)
		svc := service("s", host, port, "")
		svc.Retries = 0
		_, front := newProxy(t, &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{route("r", "s", "/")}})
		res, err := http.Get(front.URL + "/")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, tc.want, res.StatusCode, "%d heads of 100 Continue", tc.continues)
	}
}

// TestUpstreamAnswersBeforeContinue: a client waiting for "100 Continue"
// whose streamed body the upstream answers before reading gets the "100
// Continue" (sent by the body's first read, in h1Client's body writer)
// and the answer whole, not interleaved (the race detector sees the two
// goroutines' writes to the connection unordered otherwise).
func TestUpstreamAnswersBeforeContinue(t *testing.T) {
	t.Parallel()
	addr, _ := rawBodyUpstream(t, func(c net.Conn, br *bufio.Reader, _ *http.Request) {
		_, _ = io.WriteString(c, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope")
		_, _ = io.Copy(io.Discard, br)
	})
	e := edgeTo(t, addr, proxy.Limits{}, unbufferedRequests)
	for range 20 {
		conn, err := net.Dial("tcp", e.addr)
		require.NoError(t, err)
		_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		require.NoError(t, err)
		br := bufio.NewReader(conn)
		for {
			res, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			if res.StatusCode >= 200 {
				assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
				assert.Equal(t, "nope", string(body))
				break
			}
			assert.Equal(t, http.StatusContinue, res.StatusCode)
		}
		conn.Close()
	}
}
