package proxy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/prometheus"
	"github.com/skyport-gw/skyport/dataplane/plugins/proxycache"
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
	// global makes p apply to every route.
	global := func(p *model.Plugin) *model.Plugin { p.Route = nil; return p }
	hashed, err := model.HashPassword("open sesame")
	require.NoError(t, err)
	// An upstream hashing on the consumer, with a second target whose
	// heads are not recorded.
	other := newRecordingUpstream(t)
	byConsumer := model.NewUpstream()
	byConsumer.ID, byConsumer.Name, byConsumer.Algorithm, byConsumer.HashOn = "hc", "hash-consumer.up", "consistent-hashing", "consumer"
	var targets []*model.Target
	for i, addr := range []string{up.addr, other.addr} {
		tg := model.NewTarget()
		tg.ID, tg.Target, tg.Upstream = "hc-"+string(rune('a'+i)), addr, &model.Ref{ID: byConsumer.ID}
		targets = append(targets, tg)
	}
	hashSvc := model.NewService()
	hashSvc.ID, hashSvc.Name, hashSvc.Host, hashSvc.Port = "hashed", ptrTo("hashed"), byConsumer.Name, 80
	hashRoute := rt("by-consumer", "/by-consumer")
	hashRoute.Service = &model.Ref{ID: hashSvc.ID}
	cfg := &model.Config{
		Upstreams: []*model.Upstream{byConsumer},
		Targets:   targets,
		Consumers: []*model.Consumer{
			{Base: model.Base{ID: "alice-id"}, Username: ptrTo("alice"), CustomID: ptrTo("a-1")},
			{Base: model.Base{ID: "bob-id"}, Username: ptrTo("bob")},
			{Base: model.Base{ID: "anon-id"}, Username: ptrTo("anonymous")},
		},
		KeyAuths: []*model.KeyAuth{
			{Base: model.Base{ID: "alice-key-id"}, Key: "alice-key", Consumer: &model.Ref{ID: "alice-id"}},
			{Base: model.Base{ID: "bob-key-id"}, Key: "bob-key", Consumer: &model.Ref{ID: "bob-id"}},
		},
		BasicAuths: []*model.BasicAuth{{Base: model.Base{ID: "alice-basic-id"}, Username: "alice", Password: hashed,
			Consumer: &model.Ref{ID: "alice-id"}}},
		JWTSecrets: []*model.JWTSecret{{Base: model.Base{ID: "alice-jwt-id"}, Key: "alice-iss", Secret: "jwt-secret",
			Algorithm: "HS256", Consumer: &model.Ref{ID: "alice-id"}}},
		ACLs: []*model.ACL{
			{Base: model.Base{ID: "acl-1"}, Group: "gold", Consumer: &model.Ref{ID: "alice-id"}},
			{Base: model.Base{ID: "acl-2"}, Group: "staff", Consumer: &model.Ref{ID: "alice-id"}},
			{Base: model.Base{ID: "acl-3"}, Group: "bronze", Consumer: &model.Ref{ID: "bob-id"}},
		},
		Services: []*model.Service{svc, hashSvc},
		Routes: []*model.Route{rt("auth", "/auth"), rt("hide", "/hide"), rt("anon", "/anon"), rt("limited", "/limited"),
			rt("path", "/path"), rt("service", "/service"), rt("body", "/body"),
			rt("cors", "/cors"), rt("cors-any", "/cors-any"), rt("acl", "/acl"), rt("deny", "/deny"), rt("corr", "/corr"),
			rt("transform", "/transform"), rt("method", "/method"), rt("hostop", "/hostop"), rt("response", "/response"),
			rt("basic", "/basic"), rt("basic-anon", "/basic-anon"), rt("jwt", "/jwt"), rt("tracker", "/tracker"),
			rt("mix", "/mix"), rt("tmplhost", "/tmplhost"), rt("framing", "/framing"), rt("ua", "/ua"), rt("hideq", "/hideq"), rt("cap", `~/cap/(?<id>\w+)`), rt("rlcorr", "/rlcorr"),
			rt("corrcl", "/corrcl"), rt("corrvia", "/corrvia"), rt("corrsrv", "/corrsrv"), rt("corrconn", "/corrconn"),
			rt("corrrid", "/corrrid"), rt("corrct", "/corrct"), rt("corrte", "/corrte"),
			rt("rthead", "/rthead"), rt("rtproxy", "/rtproxy"), rt("rtjson", "/rtjson"), rt("rtrl", "/rtrl"),
			rt("ipallow", "/ipallow"), rt("ipdeny", "/ipdeny"), rt("size", "/size"), rt("bot", "/bot"),
			rt("rrl", "/rrl"), rt("usageblock", "/usageblock"), rt("usagehidden", "/usagehidden"),
			rt("cache", "/cache"), rt("cachecc", "/cachecc"), rt("cachevary", "/cachevary"), rt("cachekey", "/cachekey"), hashRoute},
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
			plug("cors", "cors", "", map[string]any{"origins": []any{"http://a.example", "http://b.example"},
				"credentials": true, "exposed_headers": []any{"X-Up"}, "max_age": 600, "private_network": true}),
			plug("cors", "cors-any", "", map[string]any{"credentials": true}),
			plug("key-auth", "cors-any", "", nil),
			plug("key-auth", "acl", "", nil),
			plug("acl", "acl", "", map[string]any{"allow": []any{"gold"}}),
			plug("key-auth", "deny", "", map[string]any{"anonymous": "anonymous"}),
			plug("acl", "deny", "", map[string]any{"deny": []any{"bronze"}, "hide_groups_header": true}),
			plug("correlation-id", "corr", "", map[string]any{"header_name": "X-Corr", "echo_downstream": true}),
			plug("request-transformer", "transform", "", map[string]any{
				"remove":  map[string]any{"headers": []any{"X-Drop"}, "querystring": []any{"drop"}},
				"rename":  map[string]any{"headers": []any{"X-Old:X-New"}, "querystring": []any{"old:new"}},
				"replace": map[string]any{"headers": []any{"X-Swap:swapped"}, "querystring": []any{"swap:swapped"}},
				"add": map[string]any{"headers": []any{"X-Added:$(headers.x-from)", "X-Query:$(query_params.q)"},
					"querystring": []any{"added:1"}},
				"append": map[string]any{"headers": []any{"X-Many:appended"}},
			}),
			plug("request-transformer", "method", "", map[string]any{"http_method": "OPTIONS"}),
			plug("request-transformer", "hostop", "", map[string]any{"add": map[string]any{"headers": []any{"host:other"}}}),
			plug("request-transformer", "tmplhost", "", map[string]any{
				"add": map[string]any{"headers": []any{"X-Host:$(headers.host)", "X-Via:$(headers.via)"}}}),
			plug("request-transformer", "framing", "", map[string]any{
				"add":    map[string]any{"headers": []any{"Content-Length:5", "Connection:X-Gone", "X-Gone:1"}},
				"rename": map[string]any{"headers": []any{"X-Te:Transfer-Encoding"}}}),
			plug("request-transformer", "ua", "", map[string]any{
				"remove":  map[string]any{"headers": []any{"User-Agent", "Accept-Encoding"}},
				"replace": map[string]any{"headers": []any{"X-Forwarded-Host:replaced", "Via:replaced"}},
				"append":  map[string]any{"headers": []any{"X-Real-IP:appended", "Cookie:b=2"}}}),
			plug("key-auth", "hideq", "", map[string]any{"hide_credentials": true}),
			plug("request-transformer", "hideq", "", map[string]any{
				"add":    map[string]any{"headers": []any{"X-K:$(query_params.apikey)", "X-Z:$(query_params.z)"}},
				"rename": map[string]any{"querystring": []any{"z:y"}}}),
			plug("request-transformer", "cap", "", map[string]any{
				"add":     map[string]any{"headers": []any{"X-Id:$(uri_captures.id)"}, "querystring": []any{"id:$(uri_captures.id)"}},
				"replace": map[string]any{"uri": "/$(uri_captures.id)/v"}}),
			plug("response-transformer", "response", "", map[string]any{
				"remove": map[string]any{"headers": []any{"Content-Type"}},
				"add":    map[string]any{"headers": []any{"X-Added:1"}},
				"append": map[string]any{"headers": []any{"X-Multi:c"}},
			}),
			plug("basic-auth", "basic", "", map[string]any{"hide_credentials": true}),
			plug("basic-auth", "basic-anon", "", map[string]any{"anonymous": "anonymous"}),
			plug("jwt", "jwt", "", map[string]any{"cookie_names": []any{"token"}}),
			plug("correlation-id", "tracker", "", map[string]any{"generator": "tracker"}),
			plug("key-auth", "by-consumer", "", map[string]any{"anonymous": "anonymous"}),
			plug("key-auth", "rlcorr", "", nil),
			plug("rate-limiting", "rlcorr", "", map[string]any{"second": 100, "minute": 200}),
			plug("correlation-id", "rlcorr", "", map[string]any{"header_name": "x-corr", "echo_downstream": true}),
			plug("correlation-id", "corrcl", "", map[string]any{"header_name": "content-length", "echo_downstream": true}),
			plug("correlation-id", "corrvia", "", map[string]any{"header_name": "via", "echo_downstream": true}),
			plug("correlation-id", "corrsrv", "", map[string]any{"header_name": "Server", "echo_downstream": true}),
			plug("correlation-id", "corrconn", "", map[string]any{"header_name": "Connection", "echo_downstream": true}),
			plug("correlation-id", "corrrid", "", map[string]any{"header_name": "X-Kong-Request-ID", "echo_downstream": true}),
			plug("correlation-id", "corrct", "", map[string]any{"header_name": "Content-Type", "echo_downstream": true}),
			plug("correlation-id", "corrte", "", map[string]any{"header_name": "Transfer-Encoding", "echo_downstream": true}),
			plug("cors", "mix", "", nil),
			plug("correlation-id", "mix", "", map[string]any{"header_name": "X-Corr"}),
			plug("key-auth", "mix", "", map[string]any{"hide_credentials": true}),
			plug("acl", "mix", "", map[string]any{"allow": []any{"gold", "bronze"}}),
			plug("rate-limiting", "mix", "", map[string]any{"minute": 100}),
			plug("request-transformer", "mix", "", map[string]any{"add": map[string]any{"headers": []any{"X-Via-Mix:1"}}}),
			plug("response-transformer", "mix", "", map[string]any{"add": map[string]any{"headers": []any{"X-Served:1"}}}),
			plug("response-transformer", "rthead", "", map[string]any{
				"remove":  map[string]any{"headers": []any{"x-up-drop", "date"}},
				"rename":  map[string]any{"headers": []any{"x-multi:x-renamed", "x-padded:x-moved", "content-type:x-type", "x-up:via"}},
				"replace": map[string]any{"headers": []any{"x-renamed:one", "ratelimit-limit:99", "x-absent:no", "x-kong-request-id:mine"}},
				"add":     map[string]any{"headers": []any{"x-multi:added", "x-corr:added", "etag:\"e\""}},
				"append":  map[string]any{"headers": []any{"x-renamed:two", "vary:Origin", "server:appended"}},
			}),
			plug("response-transformer", "rtproxy", "", map[string]any{
				"replace": map[string]any{"headers": []any{"server:mine"}},
				"rename":  map[string]any{"headers": []any{"via:x-via"}},
			}),
			plug("response-transformer", "rtjson", "", map[string]any{"add": map[string]any{"json": []any{"a:1"}}}),
			global(plug("prometheus", "", "", map[string]any{"status_code_metrics": true, "bandwidth_metrics": true,
				"latency_metrics": true, "per_consumer": true})),
			plug("ip-restriction", "ipallow", "", map[string]any{"allow": []any{"127.0.0.0/8"}}),
			plug("key-auth", "ipallow", "", map[string]any{"anonymous": "anonymous"}),
			plug("ip-restriction", "ipdeny", "", map[string]any{"deny": []any{"127.0.0.1"}, "status": 401}),
			plug("request-size-limiting", "size", "", map[string]any{"require_content_length": true}),
			plug("bot-detection", "bot", "", map[string]any{"deny": []any{"^curl/"}, "allow": []any{"^Googlebot/2"}}),
			plug("rate-limiting", "rtrl", "", map[string]any{"minute": 100}),
			plug("response-transformer", "rtrl", "", map[string]any{
				"rename":  map[string]any{"headers": []any{"x-ratelimit-remaining-minute:x-left"}},
				"replace": map[string]any{"headers": []any{"ratelimit-limit:hidden"}},
				"remove":  map[string]any{"headers": []any{"ratelimit-reset"}},
			}),
			plug("response-ratelimiting", "rrl", "", map[string]any{"limit_by": "ip",
				"limits": map[string]any{"videos": map[string]any{"minute": 3}, "images": map[string]any{"minute": 10, "hour": 20}}}),
			plug("response-ratelimiting", "usageblock", "", map[string]any{"block_on_first_violation": true,
				"limits": map[string]any{"videos": map[string]any{"minute": 1}}}),
			plug("response-ratelimiting", "usagehidden", "", map[string]any{"hide_client_headers": true,
				"header_name": "x-usage", "limits": map[string]any{"videos": map[string]any{"minute": 5}}}),
			plug("key-auth", "usagehidden", "", nil),
			plug("proxy-cache", "cache", "", map[string]any{"strategy": "memory"}),
			plug("proxy-cache", "cachecc", "", map[string]any{"strategy": "memory", "cache_control": true}),
			plug("proxy-cache", "cachevary", "", map[string]any{"strategy": "memory", "vary_headers": []any{"host", "x_ver"},
				"vary_query_params": []any{"a"}, "ignore_uri_case": true}),
			plug("key-auth", "cachekey", "", map[string]any{"hide_credentials": true}),
			plug("proxy-cache", "cachekey", "", map[string]any{"strategy": "memory"}),
		},
	}
	clock := time.Date(2026, 11, 27, 12, 30, 15, 0, time.UTC)
	viewed := &atomic.Bool{}
	checked, answered := 0, 0
	metrics := map[bool]*prometheus.Metrics{}
	serve := func(native bool) (string, *lockedBuffer, *atomic.Bool) {
		logs := &lockedBuffer{}
		metrics[native] = prometheus.NewMetrics()
		now := func() time.Time { return clock }
		reg := plugins.RegistryWith(plugins.Options{RateLimits: ratelimiting.NewStoreClock(now), Now: now,
			ProxyCache: proxycache.NewStore(proxycache.WithClock(now)), Metrics: metrics[native]})
		s := New(Options{Version: "test", RequestID: true, AccessLogWriter: logs, Registry: reg})
		require.NoError(t, s.Apply(context.Background(), cfg, 1, "test"))
		t.Cleanup(s.Close)
		s.viewed = func() { viewed.Store(true) }
		f, took := tookFrontend(s, native)
		return serveFrontend(t, f), logs, took
	}
	nativeAddr, nativeLogs, took := serve(true)
	adapterAddr, adapterLogs, _ := serve(false)

	get := func(target, fields string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n"
	}
	token := jwtHS256(t, "jwt-secret", `{"iss":"alice-iss"}`)
	preflight := func(target, fields string) string {
		return "OPTIONS " + target + " HTTP/1.1\r\nHost: h\r\nOrigin: http://a.example\r\n" +
			"Access-Control-Request-Method: PUT\r\n" + fields + "\r\n"
	}
	for _, tc := range []struct {
		name, req string
		native    bool
	}{
		{"cors preflight", preflight("/cors/x", "Access-Control-Request-Headers: X-A\r\n"+
			"Access-Control-Request-Private-Network: true\r\n"), true},
		{"cors preflight, other origin", "OPTIONS /cors/x HTTP/1.1\r\nHost: h\r\nOrigin: http://c.example\r\n" +
			"Access-Control-Request-Method: GET\r\n\r\n", true},
		{"cors options without method", "OPTIONS /cors/x HTTP/1.1\r\nHost: h\r\nOrigin: http://a.example\r\n\r\n", true},
		{"cors get", get("/cors/x", "Origin: http://b.example\r\n"), true},
		{"cors get, no origin", get("/cors/x", ""), true},
		{"cors get over the upstream's fields", get("/cors/corsup", "Origin: http://a.example\r\n"), true},
		{"cors get, other origin, over the upstream's fields", get("/cors/corsup", "Origin: http://c.example\r\n"), true},
		{"cors get, no origin, over the upstream's fields", get("/cors/corsup", ""), true},
		{"cors any over the upstream's fields", get("/cors-any/corsup", "Origin: http://z.example\r\napikey: bob-key\r\n"), true},
		{"cors any, no origin, over the upstream's fields", get("/cors-any/corsup", "apikey: bob-key\r\n"), true},
		{"cors, head", "HEAD /cors/headlength HTTP/1.1\r\nHost: h\r\nOrigin: http://a.example\r\n\r\n", true},
		{"cors any, preflight before key-auth", preflight("/cors-any/x", ""), true},
		{"cors any, refused by key-auth", get("/cors-any/x", "Origin: http://z.example\r\n"), true},
		{"cors any, proxied", get("/cors-any/x", "Origin: http://z.example\r\napikey: bob-key\r\n"), true},
		{"acl allowed", get("/acl/x", "apikey: alice-key\r\nX-Consumer-Groups: spoof\r\n"), true},
		{"acl refused", get("/acl/x", "apikey: bob-key\r\n"), true},
		{"acl deny, anonymous", get("/deny/x", "X-Consumer-Groups: spoof\r\n"), true},
		{"acl deny, refused", get("/deny/x", "apikey: bob-key\r\n"), true},
		{"acl deny, hidden groups", get("/deny/x", "apikey: alice-key\r\n"), true},
		{"correlation id kept", get("/corr/x", "x-corr: client-id\r\n"), true},
		{"correlation id made", get("/corr/x", ""), true},
		{"correlation id empty", get("/corr/x", "X-Corr:\r\n"), true},
		{"request transformer", get("/transform/x?q=qv&drop=1&old=o&swap=s&keep=k",
			"X-Drop: 1\r\nX-Old: a\r\nX-Old: b\r\nX-New: gone\r\nX-Swap: s\r\nX-From: from\r\nX-Many: one\r\n"), true},
		{"request transformer, nothing to change", get("/transform/x", ""), true},
		{"request transformer, empty swap", get("/transform/x?added=0", "X-Swap:\r\nX-Added: client\r\n"), true},
		{"request transformer, template of Host", get("/tmplhost/x", "Via: 1.1 a\r\nVia: 1.1 b\r\n"), true},
		{"request transformer, framing fields", get("/framing/x", "X-Te: chunked\r\n"), true},
		{"request transformer, proxy's fields", get("/ua/x", "User-Agent: ua\r\nAccept-Encoding: br\r\n"+
			"X-Forwarded-Host: fh\r\nVia: 1.0 v\r\nCookie: a=1\r\n"), true},
		{"request transformer after a hidden query key", get("/hideq/x?z=1&apikey=alice-key&z=2", ""), true},
		{"request transformer after a hidden query key, only", get("/hideq/x?apikey=alice-key", ""), true},
		{"request transformer, captures", get("/cap/abc/rest?q=1", ""), true},
		{"request transformer, method", get("/method/x", ""), false},
		{"request transformer, host", get("/hostop/x", ""), false},
		{"response transformer", get("/response/hop", ""), true},
		{"response transformer, trailers", get("/response/chunked", ""), true},
		{"response transformer, headers", get("/rthead/hop", ""), true},
		{"response transformer, headers in any case", get("/rthead/viewfields", "X-Kong-Request-Id: client\r\n"), true},
		{"response transformer, headers over rate limits", get("/rthead/ratelimited", ""), true},
		{"response transformer, headers named by Connection", get("/rthead/rlconn", ""), true},
		{"response transformer, headers, not modified", get("/rthead/notmodified", ""), true},
		{"response transformer, headers, no content", get("/rthead/nocontent", ""), true},
		{"response transformer, headers, head", "HEAD /rthead/headlength HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"response transformer, headers, events", get("/rthead/events", ""), true},
		{"response transformer, headers, chunked", get("/rthead/chunked", ""), true},
		{"response transformer, proxy's fields", get("/rtproxy/hop", ""), true},
		{"response transformer, json", get("/rtjson/x", ""), true},
		{"response transformer after rate limits", get("/rtrl/ratelimited", ""), true},
		{"ip restriction, allowed", get("/ipallow/x", "apikey: bob-key\r\n"), true},
		{"ip restriction, denied", get("/ipdeny/x", "Accept: text/html\r\n"), true},
		{"size limiting, a length required", get("/size/x", ""), true},
		{"size limiting, a length of 0", get("/size/x", "Content-Length: 0\r\n"), true},
		{"bot detection, a browser", get("/bot/x", "User-Agent: Mozilla/5.0\r\n"), true},
		{"bot detection, no agent", get("/bot/x", ""), true},
		{"bot detection, denied", get("/bot/x", "User-Agent: curl/8.0\r\n"), true},
		{"bot detection, a known bot", get("/bot/x", "User-Agent: bingbot/2.0\r\n"), true},
		{"bot detection, allowed", get("/bot/x", "User-Agent: Googlebot/2.1\r\n"), true},
		{"bot detection, two agents", get("/bot/x", "User-Agent: a\r\nuser-agent: b\r\n"), true},
		{"size limiting, a body", "POST /size/x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab", false},
		{"basic auth", get("/basic/x", "Authorization: Basic "+basic("alice:open sesame")+"\r\n"), true},
		{"basic auth, proxy authorization", get("/basic/x", "Proxy-Authorization: Basic "+basic("alice:open sesame")+
			"\r\nAuthorization: Basic "+basic("alice:wrong")+"\r\n"), true},
		{"basic auth, colon in password", get("/basic/x", "Authorization: Basic "+basic("alice:open sesame:")+"\r\n"), true},
		{"basic auth, lowercase, no space", get("/basic/x", "Authorization: basic"+basic("alice:open sesame")+"\r\n"), true},
		{"basic auth, colons before the username", get("/basic/x", "Authorization: Basic "+basic("::alice:open sesame")+"\r\n"), true},
		{"basic auth, after the padding", get("/basic/x", "Authorization: x Basic "+basic("alice:open sesame")+"junk\r\n"), true},
		{"basic auth, uppercase", get("/basic/x", "Authorization: BASIC "+basic("alice:open sesame")+"\r\n"), true},
		{"basic auth, wrong", get("/basic/x", "Authorization: Basic "+basic("alice:wrong")+"\r\n"), true},
		{"basic auth, none", get("/basic/x", ""), true},
		{"basic auth, anonymous", get("/basic-anon/x", "Authorization: Basic "+basic("bob:x")+"\r\n"), true},
		{"jwt in header", get("/jwt/x", "Authorization: Bearer "+token+"\r\n"), true},
		{"jwt in query", get("/jwt/x?jwt="+token, ""), true},
		{"jwt in cookie", get("/jwt/x", "Cookie: a=1; token="+token+"\r\n"), true},
		{"jwt twice", get("/jwt/x?jwt="+token, "Authorization: Bearer "+token+"x\r\n"), true},
		{"jwt bad", get("/jwt/x", "Authorization: Bearer a.b.c\r\n"), true},
		{"jwt none", get("/jwt/x", ""), true},
		{"correlation id tracker", get("/tracker/x", "Kong-Request-Id: client\r\n"), false},
		{"hash on consumer, alice", get("/by-consumer/x", "apikey: alice-key\r\n"), true},
		{"hash on consumer, bob", get("/by-consumer/x", "apikey: bob-key\r\n"), true},
		{"hash on consumer, anonymous", get("/by-consumer/x", ""), true},
		{"mix", get("/mix/x?apikey=alice-key&z=1", "Origin: http://o.example\r\n"), true},
		{"mix, acl refused", get("/mix/x", "apikey: nobody\r\n"), true},
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
		{"rate limits over the upstream's", get("/auth/ratelimited", "apikey: alice-key\r\n"), true},
		{"rate limits named by Connection", get("/auth/rlconn", "apikey: bob-key\r\n"), true},
		{"rate limits, head", "HEAD /auth/headlength HTTP/1.1\r\nHost: h\r\napikey: bob-key\r\n\r\n", true},
		{"rate limits, not modified", get("/auth/notmodified", "apikey: bob-key\r\nIf-None-Match: \"x\"\r\n"), true},
		{"rate limits, no content", get("/auth/nocontent", "apikey: bob-key\r\n"), true},
		{"rate limits, chunked", get("/auth/chunked", "apikey: bob-key\r\n"), true},
		{"rate limits, hop by hop", get("/auth/hop", "apikey: bob-key\r\n"), true},
		{"rate limits and correlation id", get("/rlcorr/ratelimited", "apikey: alice-key\r\n"), true},
		{"rate limits and correlation id sent", get("/rlcorr/rlconn", "apikey: bob-key\r\nX-Corr: mine\r\n"), true},
		{"correlation id over the upstream's", get("/corr/ratelimited", ""), true},
		{"mix, response transformer", get("/mix/ratelimited?apikey=alice-key", ""), true},
		{"correlation id named content-length, head", "HEAD /corrcl/headlength HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"correlation id named via", get("/corrvia/x", "Via: 1.1 client\r\n"), true},
		{"correlation id named server", get("/corrsrv/x", ""), true},
		{"correlation id named connection", get("/corrconn/x", ""), true},
		{"correlation id named connection, close", "GET /corrconn/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", true},
		{"correlation id named request id", get("/corrrid/x", "X-Kong-Request-Id: mine\r\n"), true},
		{"correlation id named content-type", get("/corrct/x", ""), true},
		{"correlation id named transfer-encoding", get("/corrte/x", ""), true},
		{"correlation id named content-length", get("/corrcl/x", ""), true},
		{"correlation id named content-length, sent", get("/corrcl/x", "Content-Length: 0\r\n"), true},
		{"response ratelimiting, usage", get("/rrl/kongusage", ""), true},
		{"response ratelimiting, usage in lower case", get("/rrl/lowerusage", ""), true},
		{"response ratelimiting, used up", get("/rrl/kongusage", ""), true},
		{"response ratelimiting, no usage", get("/rrl/x", ""), true},
		{"response ratelimiting, head", "HEAD /rrl/headlength HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"response ratelimiting, chunked", get("/rrl/chunked", ""), true},
		{"response ratelimiting, block", get("/usageblock/kongusage", ""), true},
		{"response ratelimiting, blocked", get("/usageblock/x", "Accept: text/html\r\n"), true},
		{"response ratelimiting, hidden, other field", get("/usagehidden/kongusage", "apikey: bob-key\r\n"), true},
		{"response ratelimiting, hidden, refused by key-auth", get("/usagehidden/x", ""), true},
		{"proxy cache, miss", get("/cache/x", ""), false},
		{"proxy cache, hit", get("/cache/x", ""), false},
		{"proxy cache, hit, debug", get("/cache/x", "Kong-Debug: 1\r\n"), false},
		{"proxy cache, query", get("/cache/x?b=2&a=1&a=0&flag", ""), false},
		{"proxy cache, query reordered", get("/cache/x?flag&a=0&a=1&b=2", ""), false},
		{"proxy cache, empty query", get("/cache/x?", ""), false},
		{"proxy cache, empty query again", get("/cache/x?", ""), false},
		{"proxy cache, other case", get("/cache/X", ""), false},
		{"proxy cache, trailers", get("/cache/chunked", ""), false},
		{"proxy cache, trailers again", get("/cache/chunked", ""), false},
		{"proxy cache, head", "HEAD /cache/headlength HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"proxy cache, not modified", get("/cache/notmodified", ""), false},
		{"proxy cache, usage fields", get("/cache/kongusage", ""), false},
		{"proxy cache, vary", get("/cachevary/x?a=1&b=2", "X-Ver: 1\r\n"), false},
		{"proxy cache, vary, other case and query", get("/cachevary/X?a=1&b=3", "x-ver: 1\r\n"), false},
		{"proxy cache, vary, other host", "GET /cachevary/x?a=1 HTTP/1.1\r\nHost: other\r\nX-Ver: 1\r\n\r\n", false},
		{"proxy cache, vary, two versions", get("/cachevary/x?a=1", "X-Ver: 2\r\nX-Ver: 1\r\n"), false},
		{"proxy cache, cache control, no-store", get("/cachecc/x", "Cache-Control: no-store\r\n"), false},
		{"proxy cache, cache control, only if cached", get("/cachecc/y", "Cache-Control: only-if-cached\r\n"), false},
		{"proxy cache, cache control, authorization", get("/cachecc/x", "Authorization: x\r\n"), false},
		{"proxy cache, cache control", get("/cachecc/x", ""), false},
		{"proxy cache after a hidden key", get("/cachekey/x?apikey=alice-key&z=1", ""), false},
		{"proxy cache after a hidden key, hit", get("/cachekey/x?z=1", "apikey: alice-key\r\n"), false},
		{"proxy cache after a hidden key, refused", get("/cachekey/x?z=1", ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			took.Store(false)
			viewed.Store(false)
			nHead, nRes, nLog := exchangeOnce(t, nativeAddr, tc.req, true, up, nativeLogs)
			assert.Equal(t, tc.native, took.Load(), "native path taken")
			if v, ok := relayedAsView[tc.name]; ok {
				assert.Equal(t, v, viewed.Load(), "relayed as a view")
				checked++
			}
			aHead, aRes, aLog := exchangeOnce(t, adapterAddr, tc.req, true, up, adapterLogs)
			// correlation-id's ids are a uuid per data plane and a count.
			nHead, nRes = generatedID.ReplaceAllString(nHead, "UUID#"), generatedID.ReplaceAllString(nRes, "UUID#")
			aHead, aRes = generatedID.ReplaceAllString(aHead, "UUID#"), generatedID.ReplaceAllString(aRes, "UUID#")
			assert.Equal(t, aHead, nHead, "upstream head")
			assert.Equal(t, aRes, nRes, "response")
			assert.Equal(t, aLog, nLog, "access log")
			if want, ok := answeredWith[tc.name]; ok {
				assert.Contains(t, nRes, want)
				answered++
			}
			if strings.HasPrefix(tc.name, "correlation id named") {
				// A framing field is never the id: the response is whole.
				assert.NotRegexp(t, `(?i)(content-length|transfer-encoding|connection): UUID#`, nHead+nRes)
				if strings.HasPrefix(tc.req, "GET") {
					assert.Contains(t, nRes, "\nok\ntrailer:")
				}
			}
		})
	}
	assert.Len(t, relayedAsView, checked, "every case of relayedAsView is in the table")
	assert.Len(t, answeredWith, answered, "every case of answeredWith is in the table")
	// The global prometheus instance ran on the view for the requests
	// the native path took (a ViewLogger) and counted them alike: codes,
	// sources, consumers, bytes, and as many latencies.
	for _, family := range []string{"kong_http_requests_total", "kong_bandwidth_bytes", "kong_request_latency_ms_count",
		"kong_kong_latency_ms_count", "kong_upstream_latency_ms_count"} {
		assert.Equal(t, exported(t, metrics[false], family), exported(t, metrics[true], family), family)
	}
	assert.Contains(t, exported(t, metrics[true], "kong_http_requests_total"), `route="auth",service="up",source="service"`)
}

// exported is m's samples of family (a counter, or a histogram's
// _count), one "labels value" line each, sorted.
func exported(t *testing.T, m *prometheus.Metrics, family string) string {
	t.Helper()
	reg := prom.NewRegistry()
	require.NoError(t, reg.Register(m))
	families, err := reg.Gather()
	require.NoError(t, err)
	var lines []string
	for _, f := range families {
		name, count := f.GetName(), false
		if name+"_count" == family {
			count = true
		} else if name != family {
			continue
		}
		for _, s := range f.GetMetric() {
			var l []string
			for _, p := range s.GetLabel() {
				l = append(l, p.GetName()+"="+strconv.Quote(p.GetValue()))
			}
			v := s.GetCounter().GetValue()
			if count {
				v = float64(s.GetHistogram().GetSampleCount())
			}
			lines = append(lines, strings.Join(l, ",")+" "+strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// relayedAsView says, for the cases of TestNativeMatchesAdapterPlugins
// it names, whether the native path relays the upstream's response as a
// view: the plugins' response phases only set fields
// (plugin.ViewHeaderFilter), the response has no trailers and no chunks.
var relayedAsView = map[string]bool{
	"key in header":                                      true,
	"limit by header":                                    true,
	"limit by header, over":                              false, // the plugin's 429
	"head":                                               true,
	"hidden, realm":                                      false, // key-auth's 401
	"correlation id kept":                                true,
	"rate limits over the upstream's":                    true,
	"rate limits named by Connection":                    true,
	"rate limits, head":                                  true,
	"rate limits, not modified":                          true,
	"rate limits, no content":                            true,
	"rate limits, chunked":                               false,
	"rate limits, hop by hop":                            true,
	"rate limits and correlation id":                     true,
	"rate limits and correlation id sent":                true,
	"correlation id over the upstream's":                 true,
	"mix, response transformer":                          true,
	"cors get":                                           true,
	"cors get, no origin":                                true,
	"cors any, proxied":                                  true,
	"cors get over the upstream's fields":                true,
	"cors get, other origin, over the upstream's fields": true,
	"cors get, no origin, over the upstream's fields":    true,
	"cors any over the upstream's fields":                true,
	"cors any, no origin, over the upstream's fields":    true,
	"cors, head":                                         true,
	"acl allowed":                                        true,
	"basic auth":                                         true,
	"jwt in header":                                      true,
	"hash on consumer, alice":                            true,
	"request transformer":                                true,
	"response transformer":                               true,
	"response transformer, headers":                      true,
	"response transformer, headers in any case":          true,
	"response transformer, headers over rate limits":     true,
	"response transformer, headers named by Connection":  true,
	"response transformer, headers, not modified":        true,
	"response transformer, headers, no content":          true,
	"response transformer, headers, head":                true,
	"response transformer, headers, events":              true,
	"response transformer, headers, chunked":             false, // chunks
	"response transformer, proxy's fields":               false, // reads Server and Via
	"response transformer, json":                         false, // a body filter
	"response transformer after rate limits":             true,
	"ip restriction, allowed":                            true,
	"ip restriction, denied":                             false, // the plugin's 401
	"size limiting, a length of 0":                       true,
	// response-ratelimiting reads and removes the upstream's usage field
	// and may answer 429 in its header filter: through the map.
	"response ratelimiting, usage":    false,
	"response ratelimiting, used up":  false,
	"response ratelimiting, no usage": false,
	"response ratelimiting, blocked":  false, // the plugin's 429
	// proxy-cache buffers the body to store: through the map; a hit is
	// its answer.
	"proxy cache, miss": false,
	"proxy cache, hit":  false,
	// correlation-id's field named as one the proxy or the framing sets:
	// the view writes what relay's map ends with.
	"correlation id named content-length, head": true,
	"correlation id named via":                  true,
	"correlation id named server":               true,
	"correlation id named connection":           true,
	"correlation id named connection, close":    true,
	"correlation id named request id":           true,
	"correlation id named content-type":         true,
	"correlation id named transfer-encoding":    true,
	"correlation id named content-length":       true,
}

// answeredWith is, for the cases of TestNativeMatchesAdapterPlugins it
// names, what the response holds (on both paths, compared): that the
// plugins did what the case is about.
var answeredWith = map[string]string{
	"response ratelimiting, usage":               "X-Ratelimit-Remaining-Videos-Minute: 1\r\n",
	"response ratelimiting, usage in lower case": "X-Ratelimit-Remaining-Images-Minute: 6\r\n",
	"response ratelimiting, used up":             "HTTP/1.1 429",
	"response ratelimiting, no usage":            "X-Ratelimit-Remaining-Videos-Minute: 0\r\n",
	"response ratelimiting, blocked":             "API rate limit exceeded for &#39;videos&#39;",
	"response ratelimiting, hidden, other field": "X-Kong-Limit: videos=2, images=1\r\n",
	"proxy cache, miss":                          "X-Cache-Status: Miss\r\n",
	"proxy cache, hit":                           "X-Cache-Status: Hit\r\n",
	"proxy cache, hit, debug":                    "X-Cache-Status: Hit\r\n",
	"proxy cache, query reordered":               "X-Cache-Status: Hit\r\n",
	"proxy cache, empty query":                   "X-Cache-Status: Miss\r\n",
	"proxy cache, empty query again":             "X-Cache-Status: Hit\r\n",
	"proxy cache, trailers again":                "X-Cache-Status: Hit\r\n",
	"proxy cache, vary, other case and query":    "X-Cache-Status: Hit\r\n",
	"proxy cache, vary, other host":              "X-Cache-Status: Hit\r\n",
	"proxy cache, vary, two versions":            "X-Cache-Status: Miss\r\n",
	"proxy cache, cache control, no-store":       "X-Cache-Status: Bypass\r\n",
	"proxy cache, cache control, only if cached": "HTTP/1.1 504",
	"proxy cache after a hidden key, hit":        "X-Cache-Status: Hit\r\n",
}

// generatedID is the uuid of correlation-id's uuid#counter ids.
var generatedID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}#`)

// jwtHS256 is a token of claims signed with secret.
func jwtHS256(t *testing.T, secret, claims string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(in))
	return in + "." + enc.EncodeToString(mac.Sum(nil))
}

// basic is a Basic credential's encoding.
func basic(userPass string) string { return base64.StdEncoding.EncodeToString([]byte(userPass)) }

// tookFrontend is a Frontend of s whose requests the adapter serves, or,
// with native, the native path first where it takes them: took records
// that it did.
func tookFrontend(s *Server, native bool) (*Frontend, *atomic.Bool) {
	f := s.Frontend(nil)
	inner := f.h1.Handler.(*h1Handler)
	inner.native = false
	took := &atomic.Bool{}
	if native {
		f.h1.Handler = h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
			if s.serveNative(w, r, nil) {
				took.Store(true)
				return
			}
			inner.ServeH1(w, r)
		})
	}
	return f, took
}
