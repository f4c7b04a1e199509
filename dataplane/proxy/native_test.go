package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/internal/freeport"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestNativeMatchesAdapter sends each request of a table once through a
// Frontend serving it on the native path where it can, and once through
// one that adapts every request to *http.Request (the path ServeHTTP
// serves): the upstream must receive the same head, the client the same
// response, and the access log must say the same.
func TestNativeMatchesAdapter(t *testing.T) {
	t.Parallel()
	up := newRecordingUpstream(t)
	dead := closedPort(t)
	upHost, upPort := splitAddr(t, up.addr)
	svc := func(id string, port int, f func(*model.Service)) *model.Service {
		s := model.NewService()
		s.ID, s.Name, s.Host, s.Port = id, &id, upHost, port
		if f != nil {
			f(s)
		}
		return s
	}
	rt := func(id, svc string, f func(*model.Route), paths ...string) *model.Route {
		r := model.NewRoute()
		r.ID, r.Name, r.Paths, r.Service = id, &id, paths, &model.Ref{ID: svc}
		if f != nil {
			f(r)
		}
		return r
	}
	upstreamOf := func(name, algorithm string, hostHeader *string) (*model.Upstream, *model.Target) {
		u := model.NewUpstream()
		u.ID, u.Name, u.Algorithm, u.HostHeader = name+"-id", name, algorithm, hostHeader
		tg := model.NewTarget()
		tg.ID, tg.Target, tg.Upstream = name+"-t", up.addr, &model.Ref{ID: u.ID}
		return u, tg
	}
	pool, poolTarget := upstreamOf("pool.up", "round-robin", nil)
	hosted, hostedTarget := upstreamOf("hosted.up", "round-robin", ptrTo("backend.internal"))
	hashed, hashedTarget := upstreamOf("hash.up", "consistent-hashing", nil)
	// Upstreams hashing on a field, a cookie, the client's address and a
	// field the proxy sets, each with a second target (another upstream,
	// whose heads are not recorded): a key computed otherwise on one path
	// sends some of the requests below elsewhere.
	other := newRecordingUpstream(t)
	hashing := func(name string, f func(*model.Upstream)) (*model.Upstream, []*model.Target) {
		u, tg := upstreamOf(name, "consistent-hashing", nil)
		f(u)
		second := model.NewTarget()
		second.ID, second.Target, second.Upstream = name+"-t2", other.addr, &model.Ref{ID: u.ID}
		return u, []*model.Target{tg, second}
	}
	byHeader, byHeaderTargets := hashing("hash-header.up", func(u *model.Upstream) {
		u.HashOn, u.HashOnHeader, u.HashFallback = "header", ptrTo("X-User"), "ip"
	})
	byCookie, byCookieTargets := hashing("hash-cookie.up", func(u *model.Upstream) { u.HashOn, u.HashOnCookie = "cookie", ptrTo("sticky") })
	byIP, byIPTargets := hashing("hash-ip.up", func(u *model.Upstream) { u.HashOn = "ip" })
	byQuery, byQueryTargets := hashing("hash-query.up", func(u *model.Upstream) {
		u.HashOn, u.HashOnQueryArg, u.HashFallback, u.HashFallbackHeader = "query_arg", ptrTo("u"), "header", ptrTo("X-User")
	})
	byXFF, byXFFTargets := hashing("hash-xff.up", func(u *model.Upstream) { u.HashOn, u.HashOnHeader = "header", ptrTo("X-Forwarded-For") })
	cfg := &model.Config{
		Upstreams: []*model.Upstream{pool, hosted, hashed, byHeader, byCookie, byIP, byQuery, byXFF},
		Targets: slices.Concat([]*model.Target{poolTarget, hostedTarget, hashedTarget}, byHeaderTargets, byCookieTargets,
			byIPTargets, byQueryTargets, byXFFTargets),
		Services: []*model.Service{
			svc("pooled", 80, func(s *model.Service) { s.Host = "pool.up" }),
			svc("hosted", 80, func(s *model.Service) { s.Host = "hosted.up" }),
			svc("hashed", 80, func(s *model.Service) { s.Host = "hash.up" }),
			svc("by-header", 80, func(s *model.Service) { s.Host = "hash-header.up" }),
			svc("by-cookie", 80, func(s *model.Service) { s.Host = "hash-cookie.up" }),
			svc("by-ip", 80, func(s *model.Service) { s.Host = "hash-ip.up" }),
			svc("by-query", 80, func(s *model.Service) { s.Host = "hash-query.up" }),
			svc("by-xff", 80, func(s *model.Service) { s.Host = "hash-xff.up" }),
			svc("up", upPort, nil),
			svc("based", upPort, func(s *model.Service) { s.Path = ptrTo("/base/") }),
			svc("dead", dead, func(s *model.Service) { s.Retries = 2 }),
			// A second: the 103 of /hinthang must reach the proxy
			// before the timeout on a loaded machine (200 ms lost it
			// at load 20).
			svc("slow", upPort, func(s *model.Service) { s.ReadTimeout, s.Retries = 1000, 0 }),
		},
		Routes: []*model.Route{
			rt("api", "up", nil, "/api"),
			rt("strip", "based", func(r *model.Route) { r.StripPath = true }, "/strip"),
			rt("keep", "based", func(r *model.Route) { r.StripPath = false; r.PreserveHost = true }, "/keep"),
			rt("unbuffered", "up", func(r *model.Route) { r.ResponseBuffering = false }, "/unbuffered"),
			rt("dead", "dead", nil, "/dead"),
			rt("slow", "slow", nil, "/slow"),
			rt("tls-only", "up", func(r *model.Route) { r.Protocols = []string{"https"} }, "/secure"),
			rt("pooled", "pooled", nil, "/pool"),
			rt("pooled, preserve_host", "pooled", func(r *model.Route) { r.PreserveHost = true }, "/preserved-pool"),
			rt("hosted", "hosted", nil, "/hosted"),
			rt("hashed", "hashed", nil, "/hashed"),
			rt("by-header", "by-header", nil, "/by-header"),
			rt("by-cookie", "by-cookie", nil, "/by-cookie"),
			rt("by-ip", "by-ip", nil, "/by-ip"),
			rt("by-query", "by-query", nil, "/by-query"),
			rt("by-xff", "by-xff", nil, "/by-xff"),
		},
	}
	logs := &lockedBuffer{}
	s := New(Options{Version: "test", RequestID: true, LatencyHeaders: true, AccessLogWriter: logs})
	require.NoError(t, s.Apply(context.Background(), cfg, 1, "test"))
	t.Cleanup(s.Close)

	// The native Frontend records which requests the native path took.
	var took atomic.Bool
	native := s.Frontend(nil)
	inner := native.h1.Handler.(*h1Handler)
	inner.native = false
	native.h1.Handler = h1.HandlerFunc(func(w *h1.Response, r *h1.Request) {
		if s.serveNative(w, r, nil) {
			took.Store(true)
			return
		}
		inner.ServeH1(w, r)
	})
	adapter := s.Frontend(nil)
	adapter.h1.Handler.(*h1Handler).native = false
	nativeAddr, adapterAddr := serveFrontend(t, native), serveFrontend(t, adapter)
	// Without an access log the native path makes no strings of the
	// client's address and Host (nativeExchange.strings): a server
	// without one must send the same. It listens on all addresses (dual
	// stack, as the default proxy listener is), where an IPv4 client comes as an
	// IPv4-mapped address: forwarded as its IPv4 one, as the adapter does.
	quiet := New(Options{Version: "test", RequestID: true, LatencyHeaders: true})
	require.NoError(t, quiet.Apply(context.Background(), cfg, 1, "test"))
	t.Cleanup(quiet.Close)
	quietAddr := serveFrontendOn(t, quiet.Frontend(nil), "0.0.0.0:0")

	for _, tc := range []struct {
		name, req string
		// native says the native path takes the request; refused that
		// h1's server answers it (no access log line).
		native, refused bool
	}{
		{"get", "GET /api/items/42 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n", true, false},
		{"head", "HEAD /api/items HTTP/1.1\r\nHost: example.com\r\n\r\n", true, false},
		{"fields without a space", "GET /api/items HTTP/1.1\r\nHost:example.com\r\nUser-Agent:wrk\r\nAccept:*/*\r\n\r\n", true, false},
		{"options", "OPTIONS /api/items HTTP/1.1\r\nHost: Example.COM.\r\n\r\n", true, false},
		{"http/1.0", "GET /api/items HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n", true, false},
		{"host with port", "GET /api/items HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", true, false},
		{"host with a dot and a port", "GET /api/items HTTP/1.1\r\nHost: EXAMPLE.com.:8080\r\n\r\n", true, false},
		{"ipv6 host", "GET /api/items HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", true, false},
		{"ipv4 host without a port", "GET /api/items HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", true, false},
		{"host with a stray bracket", "GET /api/items HTTP/1.1\r\nHost: a]:81\r\n\r\n", true, false},
		{"host with a bracket, no port", "GET /api/items HTTP/1.1\r\nHost: A]b.\r\n\r\n", true, false},
		{"host with an empty port", "GET /api/items HTTP/1.1\r\nHost: Example.com.:\r\n\r\n", true, false},
		{"host with only a port", "GET /api/items HTTP/1.1\r\nHost: :81\r\n\r\n", true, false},
		{"empty host", "GET /api/items HTTP/1.1\r\nHost:\r\n\r\n", true, false},
		{"repeated fields", "GET /api/x HTTP/1.1\r\nHost: h\r\naccept: a\r\nX-Foo: 1\r\nACCEPT: b\r\nx-foo: 2\r\n" +
			"x-lower-case-name: v\r\nX-Spaces:   padded  \r\n\r\n", true, false},
		{"hop by hop", "GET /api/x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Drop, te\r\nX-Drop: 1\r\n" +
			"Keep-Alive: 5\r\nTe: trailers, deflate\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: x\r\n" +
			"Forwarded: for=1.2.3.4\r\nTrailer: X-T\r\nUpgrade: h2c\r\n\r\n", false, false},
		{"te without connection", "GET /api/x HTTP/1.1\r\nHost: h\r\nTE: gzip\r\nProxy-Authenticate: x\r\n\r\n", true, false},
		{"forwarded fields", "GET /api/x HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n" +
			"Via: 1.0 edge\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Port: 1\r\nX-Forwarded-Path: /x\r\nX-Forwarded-Prefix: /p\r\n" +
			"X-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\nX-Kong-Request-Id: client\r\n\r\n", true, false},
		{"connection names forwarded fields", "GET /api/x HTTP/1.1\r\nHost: h\r\nConnection: X-Forwarded-For, via, user-agent\r\n" +
			"X-Forwarded-For: 10.0.0.1\r\nVia: 1.0 edge\r\nUser-Agent: curl\r\n\r\n", true, false},
		{"empty user agent first", "GET /api/x HTTP/1.1\r\nHost: h\r\nUser-Agent:\r\nUser-Agent: second\r\n\r\n", true, false},
		{"two user agents", "GET /api/x HTTP/1.1\r\nHost: h\r\nUser-Agent: first\r\nuser-agent: second\r\n\r\n", true, false},
		{"expect without a body", "GET /api/x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n", true, false},
		{"expect with a body", "POST /api/x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", false, false},
		{"content length zero", "GET /api/x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", true, false},
		{"query", "GET /api/x?a=1&b=%20two HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"empty query", "GET /api/x? HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"query with semicolon", "GET /api/x?a=1;b=2 HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"query with semicolon and more", "GET /api/x?a=1;b=2&c=%zz&d HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"escaped path", "GET /api/a%20b/c%2Fd HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"path net/http escapes", "GET /api/it's(1)!*x HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"dot segments", "GET /api/a/../b/./c HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"bad escape", "GET /api/%zz HTTP/1.1\r\nHost: h\r\n\r\n", false, true},
		{"absolute form", "GET http://example.com/api/x HTTP/1.1\r\nHost: other\r\n\r\n", false, false},
		{"post", "POST /api/x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi", false, false},
		{"delete", "DELETE /api/x HTTP/1.1\r\nHost: h\r\n\r\n", false, false},
		{"no route", "GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n", false, false},
		{"https only", "GET /secure/x HTTP/1.1\r\nHost: h\r\n\r\n", false, false},
		{"websocket", "GET /api/ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", false, false},
		{"upstream target", "GET /pool/x HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"upstream target, preserve_host", "GET /preserved-pool/x HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"upstream host_header", "GET /hosted/x HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"upstream hashing", "GET /hashed/x HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"hash on header 1", "GET /by-header/x HTTP/1.1\r\nHost: h\r\nX-User: 1\r\n\r\n", true, false},
		{"hash on header 2", "GET /by-header/x HTTP/1.1\r\nHost: h\r\nx-user: 2\r\n\r\n", true, false},
		{"hash on header 3", "GET /by-header/x HTTP/1.1\r\nHost: h\r\nX-User: 3\r\nX-User: 4\r\n\r\n", true, false},
		{"hash on header 4", "GET /by-header/x HTTP/1.1\r\nHost: h\r\nX-User: 4\r\n\r\n", true, false},
		{"hash on header 5", "GET /by-header/x HTTP/1.1\r\nHost: h\r\nX-User: 5\r\n\r\n", true, false},
		{"hash on header named by Connection", "GET /by-header/x HTTP/1.1\r\nHost: h\r\nConnection: x-user\r\n" +
			"X-User: 1\r\n\r\n", true, false},
		{"hash on header, absent", "GET /by-header/x HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"hash on cookie 1", "GET /by-cookie/x HTTP/1.1\r\nHost: h\r\nCookie: a=b; sticky=1\r\n\r\n", true, false},
		{"hash on cookie 2", "GET /by-cookie/x HTTP/1.1\r\nHost: h\r\nCookie: sticky=2\r\n\r\n", true, false},
		{"hash on cookie 3", "GET /by-cookie/x HTTP/1.1\r\nHost: h\r\nCookie: a=b\r\nCookie: sticky=3\r\n\r\n", true, false},
		{"hash on cookie 4", "GET /by-cookie/x HTTP/1.1\r\nHost: h\r\nCookie: sticky=4\r\n\r\n", true, false},
		{"hash on cookie 5", "GET /by-cookie/x HTTP/1.1\r\nHost: h\r\nCookie: sticky=5\r\n\r\n", true, false},
		{"hash on ip", "GET /by-ip/x HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"hash on query 1", "GET /by-query/x?u=1 HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"hash on query 2", "GET /by-query/x?u=2&u=3 HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"hash on query 3", "GET /by-query/x?u=3 HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"hash on query 4", "GET /by-query/x?u=4 HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"hash on query, header fallback 1", "GET /by-query/x HTTP/1.1\r\nHost: h\r\nX-User: 1\r\n\r\n", true, false},
		{"hash on query, header fallback 2", "GET /by-query/x?v=1 HTTP/1.1\r\nHost: h\r\nX-User: 2\r\n\r\n", true, false},
		{"hash on query, header fallback 3", "GET /by-query/x HTTP/1.1\r\nHost: h\r\nX-User: 3\r\n\r\n", true, false},
		{"hash on a field the proxy sets", "GET /by-xff/x HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n", false, false},
		{"strip path", "GET /strip/a/b HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"strip path to nothing", "GET /strip HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"preserve host", "GET /keep/a HTTP/1.1\r\nHost: Client.Example:81\r\n\r\n", true, false},
		{"chunked with trailers", "GET /api/chunked HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"unannounced trailers", "GET /unbuffered/trailers HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"upstream hop by hop", "GET /api/hop HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"no content", "GET /api/nocontent HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"not modified", "GET /api/notmodified HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\n\r\n", true, false},
		{"early hints", "GET /api/hints HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"until close", "GET /api/close HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"event stream", "GET /unbuffered/events HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"switching protocols", "GET /api/switch HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"invalid response", "GET /api/invalid HTTP/1.1\r\nHost: h\r\nAccept: application/json\r\n\r\n", true, false},
		{"connection refused", "GET /dead/x HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"connection refused, json", "GET /dead/x HTTP/1.1\r\nHost: h\r\nAccept: application/json\r\n\r\n", true, false},
		{"timeout", "GET /slow/hang HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"early hints, then a timeout", "GET /slow/hinthang HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"upstream fields as a view", "GET /api/viewfields HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"upstream connection names", "GET /api/connnames HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"upstream lines end in LF", "GET /api/lfonly HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"upstream empty body", "GET /api/emptybody HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"head with a length", "HEAD /api/headlength HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"large body, buffered", "GET /api/bigbody HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
		{"large body, unbuffered", "GET /unbuffered/bigbody HTTP/1.1\r\nHost: h\r\n\r\n", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			took.Store(false)
			nHead, nRes, nLog := exchangeOnce(t, nativeAddr, tc.req, !tc.refused, up, logs)
			assert.Equal(t, tc.native, took.Load(), "native path taken")
			aHead, aRes, aLog := exchangeOnce(t, adapterAddr, tc.req, !tc.refused, up, logs)
			assert.Equal(t, aHead, nHead, "upstream head")
			assert.Equal(t, aRes, nRes, "response")
			assert.Equal(t, aLog, nLog, "access log")
			if tc.native {
				qHead, qRes, _ := exchangeOnce(t, quietAddr, tc.req, false, up, logs)
				assert.Equal(t, aHead, qHead, "upstream head, without an access log")
				assert.Equal(t, aRes, qRes, "response, without an access log")
			}
			if strings.Contains(tc.req, "?a=1;b=2") {
				assert.Contains(t, aHead, "?a=1;b=2", "the query as the client sent it, as nginx sends $args")
			}
			// nginx never forwards Expect.
			assert.NotContains(t, strings.ToLower(aHead), "\nexpect:", "upstream head")
		})
	}
	// A hashing cookie the client lacks is made (a new uuid, so a target
	// at random): the native path sends it back as the adapter does.
	for _, addr := range []string{nativeAddr, adapterAddr} {
		took.Store(false)
		_, res, _ := exchangeOnce(t, addr, "GET /by-cookie/x HTTP/1.1\r\nHost: h\r\n\r\n", true, up, logs)
		assert.Equal(t, addr == nativeAddr, took.Load(), "native path taken")
		assert.Regexp(t, `Set-Cookie: sticky=[0-9a-f-]{36}; Path=/`, res)
	}
}

// exchangeOnce sends req to addr on a new connection and returns what the
// upstream received (normalized: see normalizeHead), the response
// (normalizeResponse) and the access log line (normalizeLog), waited for
// when logged.
func exchangeOnce(t *testing.T, addr, req string, logged bool, up *recordingUpstream, logs *lockedBuffer) (head, res, line string) {
	t.Helper()
	up.take()
	logs.take()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, req)
	require.NoError(t, err)
	method, _, _ := strings.Cut(req, " ")
	var out strings.Builder
	br := bufio.NewReader(conn)
	for {
		r, err := http.ReadResponse(br, &http.Request{Method: method})
		require.NoError(t, err)
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		out.WriteString(normalizeResponse(r, body))
		if r.StatusCode >= 200 {
			break
		}
	}
	// The request is over once its log line is written.
	if logged {
		logs.wait(t)
	}
	return normalizeHead(up.take()), out.String(), normalizeLog(logs.take())
}

var (
	requestID = regexp.MustCompile(`[0-9a-f]{32}`)
	portField = regexp.MustCompile(`X-Forwarded-Port: \d+`)
	logTimes  = regexp.MustCompile(`"(time|latency_\w+)":("[^"]*"|\d+)`)
	localAddr = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+->`)
	latency   = regexp.MustCompile(`(X-Kong-(?:Upstream|Proxy|Response)-Latency): \d+`)
)

// normalizeHead orders the fields of request heads by name (net/http
// writes them in map order), keeping the order of each name's values, and
// hides what differs between two listeners: the port and the request id.
func normalizeHead(heads string) string {
	heads = requestID.ReplaceAllString(portField.ReplaceAllString(heads, "X-Forwarded-Port: P"), "ID")
	var out strings.Builder
	for head := range strings.SplitSeq(heads, "\r\n\r\n") {
		if head == "" {
			continue
		}
		lines := strings.Split(head, "\r\n")
		out.WriteString(lines[0] + "\n")
		fields := lines[1:]
		slices.SortStableFunc(fields, func(a, b string) int {
			ka, _, _ := strings.Cut(a, ":")
			kb, _, _ := strings.Cut(b, ":")
			return strings.Compare(ka, kb)
		})
		for _, f := range fields {
			out.WriteString(f + "\n")
		}
	}
	return out.String()
}

// normalizeResponse writes a response out, its fields sorted, without
// its date and with its request id hidden.
func normalizeResponse(r *http.Response, body []byte) string {
	r.Header.Del("Date")
	var b bytes.Buffer
	b.WriteString(r.Proto + " " + r.Status + "\n")
	_ = r.Header.WriteSubset(&b, nil)
	b.WriteString("length " + strconv.FormatInt(r.ContentLength, 10) + " " + strings.Join(r.TransferEncoding, ",") + "\n")
	b.Write(body)
	b.WriteString("\ntrailer:\n")
	_ = r.Trailer.Write(&b)
	return latency.ReplaceAllString(requestID.ReplaceAllString(b.String(), "ID"), "$1: MS")
}

// normalizeLog hides an access log line's time and latencies, and the
// local address of an upstream connection in an error.
func normalizeLog(line string) string {
	return localAddr.ReplaceAllString(logTimes.ReplaceAllString(line, `"$1":0`), "local->")
}

// lockedBuffer collects access log lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	// wrote, once made (wait), gets a signal when something is written.
	wrote chan struct{}
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wrote != nil {
		select {
		case b.wrote <- struct{}{}:
		default:
		}
	}
	return b.buf.Write(p)
}

// wait waits until something was written since the last take.
func (b *lockedBuffer) wait(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	if b.buf.Len() > 0 {
		b.mu.Unlock()
		return
	}
	if b.wrote == nil {
		b.wrote = make(chan struct{}, 1)
	}
	wrote := b.wrote
	b.mu.Unlock()
	select {
	case <-wrote:
	case <-time.After(time.Minute):
		t.Fatal("nothing written in a minute")
	}
}

// take returns what was written and empties the buffer.
func (b *lockedBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	if b.wrote != nil {
		select {
		case <-b.wrote:
		default:
		}
	}
	return s
}

// recordingUpstream records the request heads it receives and answers
// each with the response named by a word of its request line (see
// cannedResponses), else a 200 of two bytes.
type recordingUpstream struct {
	addr  string
	mu    sync.Mutex
	heads bytes.Buffer
}

// cannedResponses are the upstream's answers, by a word of the request
// line; a response in HTTP/1.0 closes the connection after it, one
// ending in "hang" is followed by nothing.
var cannedResponses = []struct{ word, res string }{
	{"/chunked", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"4\r\nbody\r\n0\r\nX-Sum: abc\r\n\r\n"},
	{"/trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\nX-Late: 1\r\n\r\n"},
	{"/hop", "HTTP/1.1 200 OK\r\nConnection: X-Up-Drop\r\nX-Up-Drop: 1\r\nKeep-Alive: timeout=5\r\nVia: 1.1 origin\r\n" +
		"Server: origin\r\nX-Multi: a\r\nX-Multi: b\r\nContent-Length: 2\r\n\r\nok"},
	{"/nocontent", "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"},
	{"/notmodified", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"},
	{"/hints", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{"/close", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"},
	{"/events", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 12\r\n\r\ndata: one\n\n\n"},
	{"/switch", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n"},
	{"/invalid", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok"},
	{"/viewfields", "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nvia: 1.0 a\r\nX-Padded:   v  \r\nVIA: 1.1 b\r\n" +
		"X-Kong-Request-Id: upstream\r\nX-Kong-Upstream-Latency: 999\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n" +
		"server: one\r\nServer: two\r\nContent-Length: 3\r\n\r\nabc"},
	{"/connnames", "HTTP/1.1 200 OK\r\nConnection: close, SERVER\r\nconnection: via, x-gone\r\nServer: origin\r\n" +
		"Via: 1.1 origin\r\nX-Gone: 1\r\nX-Kept: 1\r\nProxy-Authenticate: x\r\nUpgrade: y\r\nContent-Length: 2\r\n\r\nok"},
	{"/lfonly", "HTTP/1.1 201 Created\nX-A: 1\nContent-Length: 2\n\nok"},
	{"/emptybody", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"/ratelimited", "HTTP/1.1 200 OK\r\nRateLimit-Limit: 9\r\nx-ratelimit-remaining-minute: 8\r\nX-Up: 1\r\n" +
		"RATELIMIT-RESET: 7\r\nX-Corr: upstream\r\nX-Ratelimit-Limit-Second: 3\r\nContent-Length: 4\r\n\r\nbody"},
	{"/rlconn", "HTTP/1.1 200 OK\r\nConnection: Ratelimit-Limit, X-Corr\r\nRatelimit-Limit: 9\r\n" +
		"X-Corr: upstream\r\nContent-Length: 2\r\n\r\nok"},
	{"/corsup", "HTTP/1.1 200 OK\r\nVary: Accept\r\nAccess-Control-Allow-Origin: http://up.example\r\n" +
		"Access-Control-Allow-Credentials: false\r\nAccess-Control-Expose-Headers: X-Up\r\nContent-Length: 2\r\n\r\nok"},
	{"/headlength", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"},
	// response-ratelimiting's usage fields, in Kong's forms.
	{"/kongusage", "HTTP/1.1 200 OK\r\nX-Kong-Limit: videos=2, images=1\r\nX-Up: 1\r\nContent-Length: 2\r\n\r\nok"},
	{"/lowerusage", "HTTP/1.1 200 OK\r\nx-kong-limit: videos=1\r\nContent-Type: text/plain\r\n" +
		"x-kong-limit: images=3\r\nx-kong-limit: unknown=5\r\nContent-Length: 2\r\n\r\nok"},
	{"/bigbody", "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n" + strings.Repeat("0123456789", 7000)},
	{"/hang", "hang"},
	{"/hinthang", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nhang"},
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	u := &recordingUpstream{addr: ln.Addr().String()}
	go acceptEach(ln, u.serve)
	return u
}

// acceptEach serves each connection ln accepts with serve, in a
// goroutine of its own, until ln is closed.
func acceptEach(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go serve(c)
	}
}

func (u *recordingUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		var head bytes.Buffer
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		if n := contentLength(head.String()); n > 0 {
			if _, err := io.CopyN(&head, br, n); err != nil {
				return
			}
		}
		u.mu.Lock()
		u.heads.Write(head.Bytes())
		u.mu.Unlock()
		requestLine, _, _ := strings.Cut(head.String(), "\r\n")
		res := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
		for _, cr := range cannedResponses {
			if strings.Contains(requestLine, cr.word) {
				res = cr.res
				break
			}
		}
		res, hang := strings.CutSuffix(res, "hang")
		if _, err := io.WriteString(c, res); err != nil {
			return
		}
		if hang {
			_, _ = io.Copy(io.Discard, br)
			return
		}
		if strings.HasPrefix(res, "HTTP/1.0") {
			return
		}
	}
}

// contentLength is the Content-Length of a request head, 0 without one.
func contentLength(head string) int64 {
	for line := range strings.SplitSeq(head, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// take returns the heads received since the last call.
func (u *recordingUpstream) take() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.heads.String()
	u.heads.Reset()
	return s
}

// serveFrontend serves f on a loopback listener; it returns its address.
func serveFrontend(t *testing.T, f *Frontend) string {
	t.Helper()
	return serveFrontendOn(t, f, "127.0.0.1:0")
}

// serveFrontendOn is serveFrontend on a listener of listen; the address
// returned is on loopback (IPv4) whatever listen's host.
func serveFrontendOn(t *testing.T, f *Frontend, listen string) string {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = f.Close()
		<-done
	})
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(p)
	require.NoError(t, err)
	return host, port
}

func ptrTo[T any](v T) *T { return &v }

// closedPort returns a loopback port that refuses every connection for
// the rest of the test, and that no other test's listener can take.
func closedPort(t *testing.T) int {
	t.Helper()
	port, release, err := freeport.Refusing()
	require.NoError(t, err)
	t.Cleanup(release)
	return port
}
