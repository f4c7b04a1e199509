package proxy

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/ratelimiting"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// TestNativeMatchesAdapterPlugins is TestNativeMatchesAdapter for routes
// with key-auth and rate-limiting, whose access phases run on the view on
// the native path: the same requests, sent to two data planes of the same
// configuration (each counting its own rate limits, on one fixed clock),
// one serving every request it can on the native path and the other
// through the adapter, give the same upstream head, client response and
// access line. It also checks which requests the native path took.
func TestNativeMatchesAdapterPlugins(t *testing.T) {
	t.Parallel()
	up := newRecordingUpstream(t)
	upHost, upPort := splitAddr(t, up.addr)
	svc := model.NewService()
	svc.ID, svc.Name, svc.Host, svc.Port = "up", ptrTo("up"), upHost, upPort
	rt := func(id string, paths ...string) *model.Route {
		r := model.NewRoute()
		r.ID, r.Name, r.Paths, r.Service = id, &id, paths, &model.Ref{ID: svc.ID}
		return r
	}
	n := 0
	plug := func(name string, route, consumer string, conf map[string]any) *model.Plugin {
		out, errs, _ := pluginschema.Normalize(name, conf)
		require.Empty(t, errs, name)
		n++
		p := &model.Plugin{Base: model.Base{ID: name + "-" + string(rune('a'+n))}, Name: name, Enabled: true, Config: out}
		p.Route = &model.Ref{ID: route}
		if consumer != "" {
			p.Consumer = &model.Ref{ID: consumer}
		}
		return p
	}
	cfg := &model.Config{
		Consumers: []*model.Consumer{
			{Base: model.Base{ID: "alice-id"}, Username: ptrTo("alice"), CustomID: ptrTo("a-1")},
			{Base: model.Base{ID: "bob-id"}, Username: ptrTo("bob")},
			{Base: model.Base{ID: "anon-id"}, Username: ptrTo("anonymous")},
		},
		KeyAuths: []*model.KeyAuth{
			{Base: model.Base{ID: "alice-key-id"}, Key: "alice-key", Consumer: &model.Ref{ID: "alice-id"}},
			{Base: model.Base{ID: "bob-key-id"}, Key: "bob-key", Consumer: &model.Ref{ID: "bob-id"}},
		},
		Services: []*model.Service{svc},
		Routes: []*model.Route{rt("auth", "/auth"), rt("hide", "/hide"), rt("anon", "/anon"), rt("limited", "/limited"),
			rt("path", "/path"), rt("service", "/service"), rt("body", "/body")},
		Plugins: []*model.Plugin{
			plug("key-auth", "auth", "", map[string]any{"key_names": []any{"apikey", "x_key"}}),
			plug("rate-limiting", "auth", "", map[string]any{"minute": 100, "hour": 1000}),
			plug("rate-limiting", "auth", "alice-id", map[string]any{"second": 50, "day": 5000}),
			plug("key-auth", "hide", "", map[string]any{"hide_credentials": true, "realm": "hidden"}),
			plug("rate-limiting", "hide", "", map[string]any{"second": 100, "limit_by": "ip"}),
			plug("key-auth", "anon", "", map[string]any{"anonymous": "anonymous"}),
			plug("rate-limiting", "anon", "", map[string]any{"minute": 100, "limit_by": "credential"}),
			plug("rate-limiting", "limited", "", map[string]any{"minute": 1, "limit_by": "header", "header_name": "X-Who",
				"error_message": "slow down"}),
			plug("rate-limiting", "path", "", map[string]any{"minute": 1, "limit_by": "path", "path": "/path/a b",
				"hide_client_headers": true}),
			plug("rate-limiting", "service", "", map[string]any{"hour": 5, "limit_by": "service"}),
			plug("key-auth", "body", "", map[string]any{"key_in_body": true}),
		},
	}
	clock := time.Date(2026, 11, 27, 12, 30, 15, 0, time.UTC)
	serve := func(native bool) (string, *lockedBuffer, *atomic.Bool) {
		logs := &lockedBuffer{}
		reg := plugins.RegistryWith(plugins.Options{RateLimits: ratelimiting.NewStoreClock(func() time.Time { return clock })})
		s := New(Options{Version: "test", RequestID: true, AccessLogWriter: logs, Registry: reg})
		require.NoError(t, s.Apply(context.Background(), cfg, 1, "test"))
		t.Cleanup(s.Close)
		f := s.Frontend(nil)
		inner := f.h1.Handler.(*h1Handler)
		inner.native = false
		took := &atomic.Bool{}
		if native {
			f.h1.Handler = h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
				if s.serveNative(w, r) {
					took.Store(true)
					return
				}
				inner.ServeH1(w, r)
			})
		}
		return serveFrontend(t, f), logs, took
	}
	nativeAddr, nativeLogs, took := serve(true)
	adapterAddr, adapterLogs, _ := serve(false)

	get := func(target, fields string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n"
	}
	for _, tc := range []struct {
		name, req string
		native    bool
	}{
		{"key in header", get("/auth/x", "apikey: alice-key\r\nUser-Agent: wrk\r\n"), true},
		{"key in header again", get("/auth/x", "apikey: alice-key\r\n"), true},
		{"consumer headers replaced", get("/auth/x", "X-Consumer-ID: spoof\r\nx-consumer-username: spoof\r\n"+
			"X-Consumer-Custom-Id: spoof\r\nX-Credential-Identifier: spoof\r\nX-Anonymous-Consumer: true\r\napikey: bob-key\r\n"), true},
		{"key in query", get("/auth/x?a=1&apikey=bob-key&b=2", ""), true},
		{"underscore name as dashes", get("/auth/x", "X-Key: bob-key\r\n"), true},
		{"second key name", get("/auth/x?x_key=alice-key", ""), true},
		{"no key", get("/auth/x", "Accept: application/json\r\n"), true},
		{"no key, html", get("/auth/x", "Accept: text/html\r\n"), true},
		{"empty key", get("/auth/x", "apikey:\r\n"), true},
		{"invalid key", get("/auth/x", "apikey: nobody\r\n"), true},
		{"duplicate key", get("/auth/x", "apikey: alice-key\r\nApiKey: bob-key\r\n"), true},
		{"duplicate key in query", get("/auth/x?apikey=a&apikey=b", ""), true},
		{"query flag", get("/auth/x?apikey", ""), true},
		{"key named by Connection", get("/auth/x", "Connection: apikey\r\napikey: alice-key\r\n"), true},
		{"hop by hop fields", get("/auth/x", "Connection: keep-alive, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: 5\r\n"+
			"Te: trailers\r\nProxy-Connection: x\r\napikey: alice-key\r\n"), true},
		{"hidden header key", get("/hide/x", "apikey: alice-key\r\nX-Other: 1\r\n"), true},
		{"hidden query key", get("/hide/x?b=2&apikey=alice-key&c=3", ""), true},
		{"hidden only query key", get("/hide/x?apikey=bob-key", ""), true},
		{"hidden, realm", get("/hide/x", ""), true},
		{"anonymous", get("/anon/x", "X-Credential-Identifier: spoof\r\n"), true},
		{"anonymous, invalid key", get("/anon/x", "apikey: nobody\r\n"), true},
		{"not anonymous", get("/anon/x", "apikey: alice-key\r\nX-Anonymous-Consumer: true\r\n"), true},
		{"limit by header", get("/limited/x", "X-Who: one\r\n"), true},
		{"limit by header, over", get("/limited/x", "X-Who: one\r\nAccept: application/json\r\n"), true},
		{"limit by header, another", get("/limited/x", "x-who: two\r\n"), true},
		{"limit by header, absent", get("/limited/x", ""), true},
		{"limit by path", get("/path/a%20b", ""), true},
		{"limit by path, over", get("/path/a%20b", ""), true},
		{"limit by path, other", get("/path/c", ""), true},
		{"limit by service", get("/service/x", ""), true},
		{"head", "HEAD /auth/x HTTP/1.1\r\nHost: h\r\napikey: bob-key\r\n\r\n", true},
		{"key in body route, header", get("/body/x", "apikey: bob-key\r\n"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			took.Store(false)
			nHead, nRes, nLog := exchangeOnce(t, nativeAddr, tc.req, true, up, nativeLogs)
			assert.Equal(t, tc.native, took.Load(), "native path taken")
			aHead, aRes, aLog := exchangeOnce(t, adapterAddr, tc.req, true, up, adapterLogs)
			assert.Equal(t, aHead, nHead, "upstream head")
			assert.Equal(t, aRes, nRes, "response")
			assert.Equal(t, aLog, nLog, "access log")
		})
	}
}
