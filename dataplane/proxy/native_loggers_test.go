package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// msLatency matches the latencies in statsd's and datadog's lines, which
// differ from one request to the next.
var msLatency = regexp.MustCompile(`(latency:)\d+`)

// listenPort matches the port of a record's url.
var listenPort = regexp.MustCompile(`:\d+/`)

// syslogHead matches what precedes the record in a syslog message: the
// priority (captured), the time and the tag.
var syslogHead = regexp.MustCompile(`^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d kong\[\d+\]: `)

// TestNativeMatchesAdapterLoggers checks that statsd and datadog, as
// plugin.ViewLoggers, send on the native path the lines they send on the
// adapter: the same names, tags, counts and request and response sizes
// (the latencies aside), and http-log, file-log, udp-log, tcp-log and
// syslog (plugin.Recorders) the same record (its ids, times, latencies and the
// listener's port aside; the JSON decoded, as the adapter's header
// objects come in the map's order), for responses relayed as a view
// (the loggers reading the head relayView wrote: its size, and the
// fields it copied for the records), through the map, and plugins' and
// the proxy's answers.
func TestNativeMatchesAdapterLoggers(t *testing.T) {
	t.Parallel()
	up := newRecordingUpstream(t)
	upHost, upPort := splitAddr(t, up.addr)
	statsd, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = statsd.Close() })
	datadog, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = datadog.Close() })
	records := make(chan []byte, 64)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			records <- body
		}
	}))
	t.Cleanup(collector.Close)
	logFile := filepath.Join(t.TempDir(), "records.log")
	udplog, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = udplog.Close() })
	tcpRecords := tcpLines(t)
	syslogPath := filepath.Join(t.TempDir(), "log.sock")
	syslog, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: syslogPath, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = syslog.Close() })
	written := 0

	svc := model.NewService()
	svc.ID, svc.Name, svc.Host, svc.Port = "up", ptrTo("up"), upHost, upPort
	rt := func(id string, paths ...string) *model.Route {
		r := model.NewRoute()
		r.ID, r.Name, r.Paths, r.Service = id, &id, paths, &model.Ref{ID: svc.ID}
		return r
	}
	unbuffered := rt("stream", "/stream")
	unbuffered.ResponseBuffering = false
	n := 0
	plug := func(name, route string, conf map[string]any) *model.Plugin {
		out, errs, _ := pluginschema.Normalize(name, conf)
		require.Empty(t, errs, name)
		n++
		p := &model.Plugin{Base: model.Base{ID: name + "-" + string(rune('a'+n))}, Name: name, Enabled: true, Config: out}
		if route != "" {
			p.Route = &model.Ref{ID: route}
		}
		return p
	}
	const ddMetrics = 4
	cfg := &model.Config{
		Consumers: []*model.Consumer{{Base: model.Base{ID: "alice-id"}, Username: ptrTo("alice"), CustomID: ptrTo("a-1")}},
		KeyAuths: []*model.KeyAuth{{Base: model.Base{ID: "alice-key-id"}, Key: "alice-key",
			Consumer: &model.Ref{ID: "alice-id"}}},
		Services: []*model.Service{svc},
		Routes:   []*model.Route{rt("auth", "/auth"), rt("open", "/open"), rt("rt", "/rt"), rt("hide", "/hide"), unbuffered},
		Plugins: []*model.Plugin{
			plug("statsd", "", map[string]any{"host": "127.0.0.1", "port": statsd.LocalAddr().(*net.UDPAddr).Port,
				"udp_packet_size": 60000}),
			plug("datadog", "", map[string]any{"host": "127.0.0.1", "port": datadog.LocalAddr().(*net.UDPAddr).Port,
				"metrics": []any{
					map[string]any{"name": "request_size", "stat_type": "distribution", "consumer_identifier": "username"},
					map[string]any{"name": "response_size", "stat_type": "distribution"},
					map[string]any{"name": "request_count", "stat_type": "counter", "sample_rate": 1},
					map[string]any{"name": "latency", "stat_type": "timer", "sample_rate": 1},
				}}),
			plug("http-log", "", map[string]any{"http_endpoint": collector.URL + "/logs"}),
			plug("file-log", "", map[string]any{"path": logFile}),
			plug("udp-log", "", map[string]any{"host": "127.0.0.1", "port": udplog.LocalAddr().(*net.UDPAddr).Port}),
			plug("tcp-log", "", map[string]any{"host": "127.0.0.1", "port": tcpRecords.port}),
			plug("syslog", "", map[string]any{"client_errors_severity": "warning", "server_errors_severity": "crit"}),
			plug("key-auth", "auth", nil),
			plug("key-auth", "hide", map[string]any{"hide_credentials": true}),
			plug("request-transformer", "rt", map[string]any{"add": map[string]any{"headers": []any{"X-Added:a longer value"},
				"querystring": []any{"added:1"}},
				"remove": map[string]any{"headers": []any{"X-Drop"}}}),
			plug("response-transformer", "rt", map[string]any{"add": map[string]any{"headers": []any{"X-Served:1"}},
				"remove": map[string]any{"headers": []any{"X-Up"}}}),
			plug("response-transformer", "stream", map[string]any{"add": map[string]any{"headers": []any{"X-Served:1"}},
				"append": map[string]any{"headers": []any{"X-Rep:d"}}}),
		},
	}
	serve := func(native bool) (string, *lockedBuffer, *atomic.Bool, *atomic.Bool) {
		logs := &lockedBuffer{}
		s := New(Options{Version: "test", RequestID: true, AccessLogWriter: logs, Registry: plugins.RegistryWith(plugins.Options{SyslogSocket: syslogPath})})
		viewed := &atomic.Bool{}
		s.viewed = func() { viewed.Store(true) }
		require.NoError(t, s.Apply(context.Background(), cfg, 1, "test"))
		t.Cleanup(s.Close)
		f, took := tookFrontend(s, native)
		return serveFrontend(t, f), logs, took, viewed
	}
	nativeAddr, nativeLogs, took, viewed := serve(true)
	adapterAddr, adapterLogs, _, _ := serve(false)

	// lines reads count datagrams from pc, split into lines, latencies
	// normalised.
	lines := func(pc net.PacketConn, count int) []string {
		t.Helper()
		var out []string
		buf := make([]byte, 64<<10)
		for range count {
			require.NoError(t, pc.SetReadDeadline(time.Now().Add(time.Minute)))
			k, _, err := pc.ReadFrom(buf)
			require.NoError(t, err, "waiting for a datagram")
			out = append(out, strings.Split(msLatency.ReplaceAllString(string(buf[:k]), "${1}N"), "\n")...)
		}
		sort.Strings(out)
		return out
	}
	// record reads http-log's next record, and file-log's, without what
	// differs from one request to the next (ids, times, latencies).
	record := func() map[string]any {
		t.Helper()
		var body []byte
		select {
		case body = <-records:
		case <-time.After(time.Minute):
			require.FailNow(t, "no record")
		}
		var line []byte
		require.Eventually(t, func() bool {
			all, err := os.ReadFile(logFile)
			// Only whole lines: the read may see a write under way.
			end := bytes.LastIndexByte(all, '\n')
			if err != nil || end < 0 {
				return false
			}
			lines := bytes.Split(all[:end], []byte("\n"))
			if len(lines) <= written {
				return false
			}
			line = lines[written]
			return true
		}, time.Minute, 5*time.Millisecond, "file-log's record")
		written++
		require.JSONEq(t, string(body), string(line), "http-log's and file-log's records")
		buf := make([]byte, 64<<10)
		require.NoError(t, udplog.SetReadDeadline(time.Now().Add(time.Minute)))
		k, _, err := udplog.ReadFrom(buf)
		require.NoError(t, err, "waiting for udp-log's record")
		require.JSONEq(t, string(body), string(buf[:k]), "http-log's and udp-log's records")
		select {
		case line := <-tcpRecords.lines:
			require.JSONEq(t, string(body), line, "http-log's and tcp-log's records")
		case <-time.After(time.Minute):
			require.FailNow(t, "no tcp-log record")
		}
		require.NoError(t, syslog.SetReadDeadline(time.Now().Add(time.Minute)))
		k, err = syslog.Read(buf)
		require.NoError(t, err, "waiting for syslog's message")
		head := syslogHead.FindSubmatch(buf[:k])
		require.NotNil(t, head, "syslog's message %q", buf[:k])
		require.JSONEq(t, string(body), string(buf[len(head[0]):k]), "http-log's and syslog's records")
		var m map[string]any
		require.NoError(t, json.Unmarshal(body, &m), string(body))
		req := m["request"].(map[string]any)
		// The data planes listen on ports of their own.
		req["id"], req["url"] = "ID", listenPort.ReplaceAllString(req["url"].(string), ":PORT/")
		res := m["response"].(map[string]any)
		headers := res["headers"].(map[string]any)
		for _, k := range []string{"x-kong-request-id", "x-kong-upstream-latency", "x-kong-proxy-latency"} {
			if _, ok := headers[k]; ok {
				headers[k] = "X"
			}
		}
		m["latencies"], m["started_at"] = "L", "S"
		// Not the record's: syslog's priority, compared along with it.
		m["syslog priority"] = string(head[1])
		if tries, ok := m["tries"].([]any); ok {
			for _, tr := range tries {
				for _, k := range []string{"balancer_start", "balancer_start_ns", "balancer_latency", "balancer_latency_ns"} {
					tr.(map[string]any)[k] = "T"
				}
			}
		}
		return m
	}
	get := func(target, fields string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n"
	}
	// view says the native path relays the response as a view
	// (relayView): the loggers read the head it wrote, with no map.
	for _, tc := range []struct {
		name, req string
		view      bool
	}{
		{"proxied, consumer", get("/auth/x?a=1", "apikey: alice-key\r\nUser-Agent: wrk\r\n"), true},
		{"key-auth's answer", get("/auth/x", "Accept: application/json\r\n"), false},
		{"invalid key", get("/auth/x", "apikey: nobody\r\n"), false},
		{"head", "HEAD /open/headlength HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"not modified", get("/open/notmodified", "If-None-Match: \"x\"\r\n"), true},
		{"no content", get("/open/nocontent", ""), true},
		{"chunked, through the map", get("/open/chunked", ""), false},
		{"chunked without trailers, through the map", get("/open/trailers", ""), false},
		{"head of a chunked response", "HEAD /open/chunked HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"hop by hop fields", get("/open/hop", "Connection: keep-alive, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: 5\r\n"+
			"Te: trailers\r\nProxy-Connection: x\r\n"), true},
		{"host in another case", "GET /open/x HTTP/1.1\r\nhOST: h.example\r\nx-lower: v\r\n\r\n", true},
		{"empty length", get("/open/x", "Content-Length: 0\r\n"), true},
		{"transformers", get("/rt/hop", "X-Drop: 1\r\nX-Keep: 2\r\n"), true},
		{"transformers, rate limited upstream", get("/rt/ratelimited", ""), true},
		{"no route", get("/none", ""), false},
		{"fields twice, in other cases", get("/open/x", "X-Dup: a\r\nx-dup: b\r\nX-DUP: c\r\nX-One: 1\r\n"), true},
		{"authorization redacted", get("/open/x", "Authorization: Basic eDp5\r\nProxy-Authorization: p\r\n"), true},
		{"escaped values and target", get("/open/a%20b?q=%22x%22&r=1&q=2&flag", "X-Quote: \"q\" \\ \xc3\xa9\r\n"), true},
		{"empty query", get("/open/x?", ""), true},
		{"hidden query key", get("/hide/x?b=2&apikey=alice-key&c=3", ""), true},
		{"hidden only query key", get("/hide/x?apikey=alice-key", ""), true},
		{"hidden header key", get("/hide/x", "apikey: alice-key\r\n"), true},
		{"transformers, query added", get("/rt/x?z=9", ""), true},
		{"upstream fields repeated, in other cases", get("/open/viewfields", ""), true},
		{"upstream fields named by Connection", get("/open/connnames", ""), true},
		{"upstream fields repeated, transformed", get("/rt/viewfields", ""), true},
		{"upstream rate limit fields", get("/open/ratelimited", ""), true},
		// The route that does not buffer responses, which a view takes
		// however the head and body arrive, for the large ones.
		{"large head, transformed", get("/stream/bighead", ""), true},
		{"large body, buffered", get("/open/bigbody", ""), false},
		{"large body, unbuffered, transformed", get("/stream/bigbody", ""), true},
		{"event stream with a length", get("/open/events", ""), true},
		{"line feeds only", get("/open/lfonly", ""), true},
		{"empty body", get("/open/emptybody", ""), true},
		{"upgrade refused: 101 unasked for", get("/open/switch", ""), false},
		{"invalid upstream response", get("/open/invalid", ""), false},
		{"upgrade asked, not switched", get("/open/x", "Connection: Upgrade\r\nUpgrade: websocket\r\n"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			took.Store(false)
			viewed.Store(false)
			nHead, nRes, nLog := exchangeOnce(t, nativeAddr, tc.req, true, up, nativeLogs)
			adapterOnly := tc.name == "no route" || strings.HasPrefix(tc.name, "upgrade asked")
			assert.Equal(t, !adapterOnly, took.Load(), "native path taken")
			assert.Equal(t, tc.view, viewed.Load(), "relayed as a view")
			nStatsd, nDatadog, nRecord := lines(statsd, 1), lines(datadog, ddMetrics), record()
			aHead, aRes, aLog := exchangeOnce(t, adapterAddr, tc.req, true, up, adapterLogs)
			aStatsd, aDatadog, aRecord := lines(statsd, 1), lines(datadog, ddMetrics), record()
			assert.Equal(t, aHead, nHead, "upstream head")
			assert.Equal(t, aRes, nRes, "response")
			assert.Equal(t, aLog, nLog, "access log")
			assert.Equal(t, aStatsd, nStatsd, "statsd")
			assert.Equal(t, aDatadog, nDatadog, "datadog")
			assert.Equal(t, aRecord, nRecord, "http-log's record")
			assert.Contains(t, strings.Join(nStatsd, "\n"), ".request.size:")
		})
	}
}

// tcpLog is a tcp-log server: each line received on any connection,
// in the order read.
type tcpLog struct {
	port  int
	lines chan string
}

// tcpLines starts a tcp-log server on a loopback port.
func tcpLines(t *testing.T) *tcpLog {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	l := &tcpLog{port: ln.Addr().(*net.TCPAddr).Port, lines: make(chan string, 64)}
	// The loggers close their connections when their data planes close.
	go acceptEach(ln, func(c net.Conn) {
		defer c.Close()
		sc := bufio.NewScanner(c)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case l.lines <- sc.Text():
			case <-done:
				return
			}
		}
	})
	return l
}

// TestNativeRecordMatchesWire checks http-log's record of responses the
// native path relays as a view against the bytes the client got: the
// record's response.headers are the head's fields (names lowercased,
// repeated ones as arrays) but those h1 adds itself (Connection, and
// Date when the upstream sent none), and response.size is the
// response's length less those, with the proxy's latency fields and
// request id, a transformer's fields, a large head and bodyless
// responses among them.
func TestNativeRecordMatchesWire(t *testing.T) {
	t.Parallel()
	up := newRecordingUpstream(t)
	upHost, upPort := splitAddr(t, up.addr)
	records := make(chan []byte, 16)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			records <- body
		}
	}))
	t.Cleanup(collector.Close)
	svc := model.NewService()
	svc.ID, svc.Name, svc.Host, svc.Port = "up", ptrTo("up"), upHost, upPort
	rt := func(id, path string) *model.Route {
		r := model.NewRoute()
		r.ID, r.Name, r.Paths, r.Service = id, &id, []string{path}, &model.Ref{ID: svc.ID}
		return r
	}
	// The transformed route does not buffer responses: a view takes a
	// large head's however its head and body arrive.
	unbuffered := rt("rt", "/rt")
	unbuffered.ResponseBuffering = false
	plug := func(id, name, route string, conf map[string]any) *model.Plugin {
		out, errs, _ := pluginschema.Normalize(name, conf)
		require.Empty(t, errs, name)
		p := &model.Plugin{Base: model.Base{ID: id}, Name: name, Enabled: true, Config: out}
		if route != "" {
			p.Route = &model.Ref{ID: route}
		}
		return p
	}
	cfg := &model.Config{
		Services: []*model.Service{svc},
		Routes:   []*model.Route{rt("open", "/open"), unbuffered},
		Plugins: []*model.Plugin{
			plug("log", "http-log", "", map[string]any{"http_endpoint": collector.URL + "/logs"}),
			plug("tr", "response-transformer", "rt", map[string]any{
				"add":    map[string]any{"headers": []any{"X-Served:1"}},
				"append": map[string]any{"headers": []any{"x-rep:d"}},
				"remove": map[string]any{"headers": []any{"X-Up"}}}),
		},
	}
	s := New(Options{Version: "test", RequestID: true, LatencyHeaders: true, Registry: plugins.RegistryWith(plugins.Options{})})
	viewed := &atomic.Bool{}
	s.viewed = func() { viewed.Store(true) }
	require.NoError(t, s.Apply(context.Background(), cfg, 1, "test"))
	t.Cleanup(s.Close)
	f, took := tookFrontend(s, true)
	addr := serveFrontend(t, f)

	for _, tc := range []struct{ method, path string }{
		{"GET", "/open/x"},
		{"GET", "/open/viewfields"},
		{"GET", "/open/connnames"},
		{"GET", "/rt/bighead"},
		{"GET", "/rt/ratelimited"},
		{"HEAD", "/open/headlength"},
		{"GET", "/open/nocontent"},
		{"GET", "/open/notmodified"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			took.Store(false)
			viewed.Store(false)
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, tc.method+" "+tc.path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
			raw, err := io.ReadAll(io.LimitReader(conn, 1<<20))
			require.NoError(t, err)
			var body []byte
			select {
			case body = <-records:
			case <-time.After(time.Minute):
				require.FailNow(t, "no record")
			}
			assert.True(t, took.Load(), "native path taken")
			assert.True(t, viewed.Load(), "relayed as a view")
			var rec struct {
				Response struct {
					Headers map[string]any `json:"headers"`
					Size    int64          `json:"size"`
				} `json:"response"`
			}
			require.NoError(t, json.Unmarshal(body, &rec), string(body))

			head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
			require.True(t, ok, "a head in %q", raw)
			lines := strings.Split(string(head), "\r\n")[1:]
			size := int64(len(raw))
			wire := map[string][]string{}
			var order []string
			for _, line := range lines {
				name, value, ok := strings.Cut(line, ": ")
				require.True(t, ok, line)
				key := strings.ToLower(name)
				_, logged := rec.Response.Headers[key]
				if key == "connection" || key == "date" && !logged {
					size -= int64(len(line) + 2) // h1's own
					continue
				}
				if _, ok := wire[key]; !ok {
					order = append(order, key)
				}
				wire[key] = append(wire[key], value)
			}
			want := map[string]any{}
			for _, k := range order {
				if vs := wire[k]; len(vs) == 1 {
					want[k] = vs[0]
				} else {
					list := make([]any, len(vs))
					for i, v := range vs {
						list[i] = v
					}
					want[k] = list
				}
			}
			assert.Equal(t, want, rec.Response.Headers, "response.headers")
			assert.Equal(t, size, rec.Response.Size, "response.size")
			assert.Contains(t, want, "x-kong-upstream-latency")
		})
	}
}
