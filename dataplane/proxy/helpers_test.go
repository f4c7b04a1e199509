package proxy_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

// backend is a real upstream server that can be stopped and restarted on
// the same address.
type backend struct {
	t       *testing.T
	name    string
	addr    string
	handler http.Handler
	hits    atomic.Int64
	conns   atomic.Int64

	mu  sync.Mutex
	srv *http.Server
}

// echo is what the default backend handler answers.
type echo struct {
	Backend string      `json:"backend"`
	URI     string      `json:"uri"`
	Host    string      `json:"host"`
	Method  string      `json:"method"`
	Header  http.Header `json:"header"`
	Body    string      `json:"body"`
}

func newBackend(t *testing.T, name string, h http.Handler) *backend {
	t.Helper()
	b := &backend{t: t, name: name, handler: h}
	if b.handler == nil {
		b.handler = http.HandlerFunc(b.echo)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b.addr = ln.Addr().String()
	b.serve(ln)
	t.Cleanup(b.stop)
	return b
}

func (b *backend) echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(echo{Backend: b.name, URI: r.URL.RequestURI(), Host: r.Host,
		Method: r.Method, Header: r.Header, Body: string(body)})
}

func (b *backend) serve(ln net.Listener) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		b.handler.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}}
	srv := b.srv
	go func() { _ = srv.Serve(ln) }()
}

// stop closes the listener and every connection: the target is down.
func (b *backend) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		_ = b.srv.Close()
		b.srv = nil
	}
}

// start listens again on the same address.
func (b *backend) start() {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", b.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(b.t, err)
	b.serve(ln)
}

func (b *backend) host() string { h, _, _ := net.SplitHostPort(b.addr); return h }

func (b *backend) port() int {
	_, p, _ := net.SplitHostPort(b.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// newProxy returns a proxy with cfg applied, behind a real listener.
func newProxy(t *testing.T, cfg *model.Config, opts ...func(*proxy.Options)) (*proxy.Server, *proxytest.Server) {
	t.Helper()
	o := proxy.Options{Version: "test", LatencyHeaders: true, RequestID: true, Log: slog.New(slog.DiscardHandler),
		RetireTimeout: 5 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	px := proxy.New(o)
	if cfg != nil {
		require.NoError(t, px.Apply(context.Background(), cfg, 1, "test"))
	}
	front := proxytest.New(t, px.Frontend(nil))
	t.Cleanup(func() {
		front.Close()
		px.Close()
	})
	return px, front
}

// frontends are the two ways a Frontend serves a plain listener's
// connections, for the tests that run on each: goroutines on Go's
// netpoller, and event loops (Options.EventLoop; where they do not run,
// goroutines again).
var frontends = []struct{ name, eventLoop string }{{"goroutines", "off"}, {"event loop", "on"}}

// onLoops reports whether a Frontend with Options.EventLoop set to
// eventLoop serves a plain listener on event loops.
func onLoops(eventLoop string) bool { return eventLoop == "on" && runtime.GOOS == "linux" }

// withEventLoop sets Options.EventLoop, for newProxy.
func withEventLoop(eventLoop string) func(*proxy.Options) {
	return func(o *proxy.Options) { o.EventLoop = eventLoop }
}

// service returns a service with Kong's defaults pointing at host:port.
func service(id, host string, port int, path string) *model.Service {
	s := model.NewService()
	s.ID, s.Name, s.Host, s.Port = id, ptr(id), host, port
	if path != "" {
		s.Path = ptr(path)
	}
	return s
}

// route returns a route with Kong's defaults to service svc.
func route(id, svc string, paths ...string) *model.Route {
	r := model.NewRoute()
	r.ID, r.Name, r.Paths = id, ptr(id), paths
	r.Service = &model.Ref{ID: svc}
	return r
}

func ptr[T any](v T) *T { return &v }

// get sends a request through the proxy and decodes an echo answer.
func get(t *testing.T, front *proxytest.Server, path string, hdr ...string) (*http.Response, echo) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, front.URL+path, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := front.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var e echo
	if res.Header.Get("Content-Type") == "application/json" {
		require.NoError(t, json.Unmarshal(body, &e), string(body))
	} else {
		e.Body = string(body)
	}
	return res, e
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitClosed waits a minute at most for ch to be closed.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// kongJSON is Kong's JSON error template (kong/tools/http.lua) for msg,
// with the request id res carries.
func kongJSON(res *http.Response, msg string) string {
	return "{\n  \"message\":\"" + msg + "\",\n  \"request_id\":\"" + res.Header.Get("X-Kong-Request-Id") + "\"\n}"
}

// kongPlain is Kong's text/plain error template (kong/tools/http.lua),
// what kong/error_handlers.lua answers a request without Accept
// (error_default_type), for msg with the request id res carries.
func kongPlain(res *http.Response, msg string) string {
	return msg + "\nrequest_id: " + res.Header.Get("X-Kong-Request-Id") + "\n"
}

func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
