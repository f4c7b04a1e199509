package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/ratelimiting"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// TestNativeExchangeReuse runs requests of different routes, plugins and
// clients through one pooled native exchange (nativePool made to hold
// only it), each after the one before is over, and checks each against
// the adapter's answer to it: nothing of a request (the plugins'
// context and states, the response fields they set, the client's
// address) reaches the next. It is not parallel: it owns nativePool
// while it runs.
func TestNativeExchangeReuse(t *testing.T) {
	fixed := new(nativeExchange)
	prevNew := nativePool.New
	nativePool.New = func() any { return fixed }
	t.Cleanup(func() { nativePool.New = prevNew })
	for nativePool.Get() != fixed {
	}

	up := newRecordingUpstream(t)
	upHost, upPort := splitAddr(t, up.addr)
	svc := model.NewService()
	svc.ID, svc.Name, svc.Host, svc.Port = "up", ptrTo("up"), upHost, upPort
	var routes []*model.Route
	for _, id := range []string{"rl", "rlmin", "ip", "cors", "corr", "hide", "plain"} {
		r := model.NewRoute()
		r.ID, r.Name, r.Paths, r.Service = id, ptrTo(id), []string{"/" + id}, &model.Ref{ID: svc.ID}
		routes = append(routes, r)
	}
	plug := func(id, name, route string, conf map[string]any) *model.Plugin {
		out, errs, _ := pluginschema.Normalize(name, conf)
		require.Empty(t, errs, name)
		return &model.Plugin{Base: model.Base{ID: id}, Name: name, Enabled: true, Config: out, Route: &model.Ref{ID: route}}
	}
	cfg := &model.Config{
		Consumers: []*model.Consumer{
			{Base: model.Base{ID: "alice-id"}, Username: ptrTo("alice"), CustomID: ptrTo("a-1")},
			{Base: model.Base{ID: "bob-id"}, Username: ptrTo("bob")},
		},
		KeyAuths: []*model.KeyAuth{
			{Base: model.Base{ID: "alice-key-id"}, Key: "alice-key", Consumer: &model.Ref{ID: "alice-id"}},
			{Base: model.Base{ID: "bob-key-id"}, Key: "bob-key", Consumer: &model.Ref{ID: "bob-id"}},
		},
		Services: []*model.Service{svc},
		Routes:   routes,
		Plugins: []*model.Plugin{
			plug("p1", "key-auth", "rl", nil),
			plug("p2", "rate-limiting", "rl", map[string]any{"second": 50, "minute": 100}),
			plug("p7", "rate-limiting", "rlmin", map[string]any{"hour": 100}),
			plug("p3", "rate-limiting", "ip", map[string]any{"minute": 1, "limit_by": "ip"}),
			plug("p4", "cors", "cors", map[string]any{"origins": []any{"http://a.example"}, "credentials": true}),
			plug("p5", "correlation-id", "corr", map[string]any{"header_name": "X-Corr", "echo_downstream": true}),
			plug("p6", "key-auth", "hide", map[string]any{"hide_credentials": true}),
		},
	}
	clock := time.Date(2026, 11, 27, 12, 30, 15, 0, time.UTC)
	// serve starts a data plane; native ones tell on served, once each
	// request is over (its exchange back in the pool), whether the native
	// path took it.
	serve := func(native bool, served chan bool) (string, *lockedBuffer) {
		logs := &lockedBuffer{}
		reg := plugins.RegistryWith(plugins.Options{RateLimits: ratelimiting.NewStoreClock(func() time.Time { return clock })})
		s := New(Options{Version: "test", RequestID: true, AccessLogWriter: logs, Registry: reg})
		require.NoError(t, s.Apply(context.Background(), cfg, 1, "test"))
		t.Cleanup(s.Close)
		f := s.Frontend(nil)
		inner := f.h1.Handler.(*h1Handler)
		inner.native = false
		if native {
			// The requests come one after the other, but the two
			// clients' connections may be on two event loops, whose
			// only link is the test's socket, which the race detector
			// does not see: the lock makes the order one it sees (the
			// exchange comes from New, not through the pool).
			var one sync.Mutex
			f.h1.Handler = h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
				one.Lock()
				took := s.serveNative(w, r, nil)
				one.Unlock()
				if !took {
					inner.ServeH1(w, r)
				}
				served <- took
			})
		}
		return serveFrontend(t, f), logs
	}
	served := make(chan bool, 1)
	nativeAddr, nativeLogs := serve(true, served)
	adapterAddr, adapterLogs := serve(false, nil)

	// Two clients, whose requests alternate on their keep-alive
	// connections.
	clients := map[string]*bufio.ReadWriter{}
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		conn, err := d.Dial("tcp", nativeAddr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		clients[ip] = bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn))
	}
	get := func(target, fields string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n"
	}
	for i, tc := range []struct {
		client, req string
		status      int
	}{
		{"127.0.0.1", get("/rl/x", "apikey: alice-key\r\n"), 200},
		{"127.0.0.1", get("/rlmin/x", ""), 200},
		{"127.0.0.1", get("/plain/x", ""), 200},
		{"127.0.0.1", get("/cors/x", "Origin: http://a.example\r\n"), 200},
		{"127.0.0.1", get("/corr/x", "X-Corr: mine\r\n"), 200},
		{"127.0.0.1", get("/cors/x", ""), 200},
		{"127.0.0.1", get("/rl/x", "apikey: nobody\r\n"), 401},
		{"127.0.0.1", get("/corr/x", ""), 200},
		{"127.0.0.1", get("/hide/x", "apikey: bob-key\r\nX-Other: 1\r\n"), 200},
		{"127.0.0.1", get("/rl/x", "apikey: bob-key\r\n"), 200},
		{"127.0.0.1", get("/plain/x", "apikey: bob-key\r\n"), 200},
		// rate-limiting by the client's address: each has its own count.
		{"127.0.0.1", get("/ip/x", ""), 200},
		{"127.0.0.2", get("/ip/x", ""), 200},
		{"127.0.0.2", get("/rl/x", "apikey: alice-key\r\n"), 200},
		{"127.0.0.1", get("/ip/x", ""), 429},
		{"127.0.0.2", get("/ip/x", ""), 429},
	} {
		rw := clients[tc.client]
		up.take()
		nativeLogs.take()
		_, err := rw.WriteString(tc.req)
		require.NoError(t, err)
		require.NoError(t, rw.Flush())
		res, err := http.ReadResponse(rw.Reader, &http.Request{Method: http.MethodGet})
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.True(t, <-served, "request %d: native path taken", i)
		require.Equal(t, tc.status, res.StatusCode, "request %d: %s", i, tc.req)
		nRes := generatedID.ReplaceAllString(normalizeResponse(res, body), "UUID#")
		nHead := generatedID.ReplaceAllString(normalizeHead(up.take()), "UUID#")
		nLog := normalizeLog(nativeLogs.take())

		if tc.client != "127.0.0.1" || strings.HasPrefix(tc.req, "GET /ip/") {
			// The adapter's client is 127.0.0.1, whose counts by address
			// the statuses above check.
			continue
		}
		aHead, aRes, aLog := exchangeOnce(t, adapterAddr, tc.req, true, up, adapterLogs)
		require.Equal(t, generatedID.ReplaceAllString(aHead, "UUID#"), nHead, "request %d: upstream head", i)
		require.Equal(t, generatedID.ReplaceAllString(aRes, "UUID#"), nRes, "request %d: response", i)
		require.Equal(t, aLog, nLog, "request %d: access log", i)
	}
}
