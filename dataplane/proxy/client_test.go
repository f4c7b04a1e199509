package proxy_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"

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
			b := newBackend(t, "b", tc.handler)
			url := proxyTo(t, b.addr).URL
			for range 5 {
				req, err := http.NewRequest(tc.method, url+"/", nil)
				require.NoError(t, err)
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				require.Less(t, res.StatusCode, 300)
			}
			assert.Equal(t, tc.wantConns, b.conns.Load())
		})
	}
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

// TestUpstreamRequestCanceled: when the client goes away, the upstream
// connection is closed, waiting for headers or in the middle of the body.
func TestUpstreamRequestCanceled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		partial bool
	}{
		{"before the headers", false},
		{"during the body", true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
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
			url := proxyTo(t, b.addr).URL
			ctx, cancel := context.WithCancel(context.Background())
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
			require.NoError(t, err)
			go func() {
				<-started
				if tc.partial {
					return
				}
				cancel()
			}()
			res, err := http.DefaultClient.Do(req)
			if tc.partial {
				require.NoError(t, err)
				buf := make([]byte, 4)
				_, err = io.ReadFull(res.Body, buf)
				require.NoError(t, err)
				assert.Equal(t, "part", string(buf))
				cancel()
				res.Body.Close()
			} else {
				require.Error(t, err)
			}
			<-canceled
		})
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
			<-started
			require.NoError(t, conn.Close())
			<-canceled
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
