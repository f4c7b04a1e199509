package plugins_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/logqueue"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

// lines collects what a receiver got, one message each.
type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, s)
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

// await waits for n messages.
func (l *lines) await(t *testing.T, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { return len(l.all()) >= n }, 20*time.Second, 10*time.Millisecond)
	return l.all()
}

// tcpReceiver accepts connections on ln and collects their lines.
func tcpReceiver(t *testing.T, ln net.Listener) *lines {
	t.Helper()
	l := &lines{}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				for sc.Scan() {
					l.add(sc.Text())
				}
			}()
		}
	}()
	return l
}

// packetReceiver collects the datagrams pc receives.
func packetReceiver(t *testing.T, pc net.PacketConn) *lines {
	t.Helper()
	l := &lines{}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			l.add(string(buf[:n]))
		}
	}()
	return l
}

// serveWith runs the proxy with reg and cfg behind a real listener.
func serveWith(t *testing.T, reg *plugins.Options, cfg *model.Config) *proxytest.Server {
	t.Helper()
	px := proxy.New(proxy.Options{Registry: plugins.RegistryWith(*reg), Version: "test", RequestID: true,
		Log: slog.New(slog.DiscardHandler), RetireTimeout: time.Second})
	require.NoError(t, px.Apply(context.Background(), cfg, 1, "test"))
	t.Cleanup(px.Close)
	front := proxytest.New(t, px.Frontend(nil))
	return front
}

// logSnapshot is the test route with one global logging plugin.
func logSnapshot(t *testing.T, name string, conf map[string]any) *model.Config {
	t.Helper()
	host, port := upstream(t)
	cfg := snapshot(t, host, port, false)
	cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-"+name, name, conf)}
	return cfg
}

// record decodes one log line and checks it is the request's.
func record(t *testing.T, line, path string, status int) map[string]any {
	t.Helper()
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
	require.Equal(t, path, rec["request"].(map[string]any)["uri"])
	require.Equal(t, float64(status), rec["response"].(map[string]any)["status"])
	require.Equal(t, plugintest.RouteID, rec["route"].(map[string]any)["id"])
	return rec
}

func TestFileLogEndToEnd(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "access.log")
	front := serveWith(t, &plugins.Options{}, logSnapshot(t, "file-log", map[string]any{"path": path}))
	read := func(p string) []string {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			return nil
		}
		// Only whole lines: the file may be read while being written.
		whole := string(b[:strings.LastIndexByte(string(b), '\n')+1])
		if whole == "" {
			return nil
		}
		return strings.Split(strings.TrimSuffix(whole, "\n"), "\n")
	}
	res, _ := send(t, front, http.MethodGet, "/api/one", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Eventually(t, func() bool { return len(read(path)) == 1 }, 20*time.Second, 10*time.Millisecond)
	record(t, read(path)[0], "/api/one", 200)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), info.Mode().Perm())

	// Rotation: the file is moved away; the next entry creates it anew.
	require.NoError(t, os.Rename(path, path+".1"))
	res, _ = send(t, front, http.MethodGet, "/api/two", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Eventually(t, func() bool { return len(read(path)) == 1 }, 20*time.Second, 10*time.Millisecond)
	record(t, read(path)[0], "/api/two", 200)
	require.Len(t, read(path+".1"), 1)
}

func TestFileLogReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "access.log")
	front := serveWith(t, &plugins.Options{}, logSnapshot(t, "file-log", map[string]any{"path": path, "reopen": true}))
	send(t, front, http.MethodGet, "/api/one", nil)
	require.Eventually(t, func() bool { b, _ := os.ReadFile(path); return strings.Count(string(b), "\n") == 1 }, 20*time.Second, 10*time.Millisecond)
	// Replaced by a new file at the same path (not moved): reopen writes
	// to the new one.
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	send(t, front, http.MethodGet, "/api/two", nil)
	require.Eventually(t, func() bool { b, _ := os.ReadFile(path); return strings.Count(string(b), "\n") == 1 }, 20*time.Second, 10*time.Millisecond)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	record(t, strings.TrimSpace(string(b)), "/api/two", 200)
}

func TestTCPLogEndToEnd(t *testing.T) {
	t.Parallel()
	for _, useTLS := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(useTLS), func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			if useTLS {
				srv := httptest.NewUnstartedServer(nil)
				srv.StartTLS()
				conf := srv.TLS.Clone()
				srv.Close()
				conf.NextProtos = nil
				ln = tls.NewListener(ln, conf)
			}
			got := tcpReceiver(t, ln)
			port := ln.Addr().(*net.TCPAddr).Port
			front := serveWith(t, &plugins.Options{}, logSnapshot(t, "tcp-log", map[string]any{
				"host": "127.0.0.1", "port": port, "tls": useTLS, "tls_sni": "logs.example"}))
			for i := range 3 {
				res, _ := send(t, front, http.MethodGet, "/api/"+strconv.Itoa(i), nil)
				require.Equal(t, http.StatusOK, res.StatusCode)
			}
			msgs := got.await(t, 3)
			require.Len(t, msgs, 3)
			paths := map[string]bool{}
			for _, m := range msgs {
				var rec map[string]any
				require.NoError(t, json.Unmarshal([]byte(m), &rec))
				paths[rec["request"].(map[string]any)["uri"].(string)] = true
			}
			require.Equal(t, map[string]bool{"/api/0": true, "/api/1": true, "/api/2": true}, paths)
		})
	}
}

func TestTCPLogReconnectsAfterServerClose(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := &lines{}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// One line per connection, then the server hangs up.
			line, _ := bufio.NewReader(c).ReadString('\n')
			l.add(line)
			c.Close()
		}
	}()
	front := serveWith(t, &plugins.Options{}, logSnapshot(t, "tcp-log", map[string]any{
		"host": "127.0.0.1", "port": ln.Addr().(*net.TCPAddr).Port}))
	send(t, front, http.MethodGet, "/api/a", nil)
	l.await(t, 1)
	send(t, front, http.MethodGet, "/api/b", nil)
	msgs := l.await(t, 2)
	record(t, strings.TrimSpace(msgs[1]), "/api/b", 200)
}

func TestUDPLogEndToEnd(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	got := packetReceiver(t, pc)
	front := serveWith(t, &plugins.Options{}, logSnapshot(t, "udp-log", map[string]any{
		"host": "127.0.0.1", "port": pc.LocalAddr().(*net.UDPAddr).Port}))
	res, _ := send(t, front, http.MethodGet, "/api/udp", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	record(t, got.await(t, 1)[0], "/api/udp", 200)
}

func TestSyslogEndToEnd(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "log.sock")
	pc, err := net.ListenPacket("unixgram", sock)
	require.NoError(t, err)
	got := packetReceiver(t, pc)
	m := logqueue.NewMetrics()
	cfg := logSnapshot(t, "syslog", map[string]any{"log_level": "warning", "successful_severity": "info",
		"client_errors_severity": "warning", "facility": "local3"})
	cfg.Plugins = append(cfg.Plugins, plugintest.Plugin(t, "p-term", "request-termination",
		map[string]any{"status_code": 403, "message": "no"}))
	cfg.Plugins[1].Route = &model.Ref{ID: plugintest.RouteID}
	front := serveWith(t, &plugins.Options{SyslogSocket: sock, LogQueues: m}, cfg)

	res, _ := send(t, front, http.MethodGet, "/api/denied", nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	msg := got.await(t, 1)[0]
	// local3 (19) * 8 + warning (4) = 156.
	re := regexp.MustCompile(`^<156>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d kong\[\d+\]: (\{.*\})$`)
	sub := re.FindStringSubmatch(msg)
	require.NotNil(t, sub, msg)
	rec := record(t, sub[1], "/api/denied", 403)
	require.Equal(t, "kong", rec["source"])

	// The proxy's route matched no request-termination here: a 404 is a
	// client error (warning, sent) — a success (info) would not be sent.
	res, _ = send(t, front, http.MethodGet, "/nowhere", nil)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	got.await(t, 2)
	require.Eventually(t, func() bool { sent, _, _ := m.Counts("syslog"); return sent == 2 }, 20*time.Second, 10*time.Millisecond)
	_, dropped, _ := m.Counts("syslog")
	require.Zero(t, dropped)
}

func TestStatsdEndToEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc string
		conf map[string]any
		want func(t *testing.T, lines []string)
	}{
		{"kong names", map[string]any{}, func(t *testing.T, lines []string) {
			for _, want := range []string{"kong.service.svc.request.count:1|c", "kong.service.svc.status.200:1|c",
				"kong.service.svc.workspace.default.status.200:1|c"} {
				require.Contains(t, lines, want)
			}
			prefixes := []string{"kong.service.svc.latency:", "kong.service.svc.upstream_latency:", "kong.service.svc.kong_latency:",
				"kong.service.svc.request.size:", "kong.service.svc.response.size:"}
			for _, p := range prefixes {
				found := false
				for _, l := range lines {
					found = found || strings.HasPrefix(l, p)
				}
				require.True(t, found, "%s in %v", p, lines)
			}
		}},
		{"dogstatsd tags, packed", map[string]any{"tag_style": "dogstatsd", "udp_packet_size": 1000, "prefix": "gw",
			"metrics": []any{map[string]any{"name": "request_count", "stat_type": "counter", "sample_rate": 0.5},
				map[string]any{"name": "status_count", "stat_type": "counter", "sample_rate": 1}}},
			func(t *testing.T, lines []string) {
				require.Len(t, lines, 1, "status_count has no tagged form; one packet")
				require.Regexp(t, `^gw\.request\.count:1\|c\|@0\.5\|#service:svc,route:rt,workspace:default,node:[^,]+,status:200$`, lines[0])
			}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			require.NoError(t, err)
			got := packetReceiver(t, pc)
			conf := map[string]any{"host": "127.0.0.1", "port": pc.LocalAddr().(*net.UDPAddr).Port}
			for k, v := range tc.conf {
				conf[k] = v
			}
			front := serveWith(t, &plugins.Options{}, logSnapshot(t, "statsd", conf))
			res, _ := send(t, front, http.MethodGet, "/api/m", nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			var lines []string
			require.Eventually(t, func() bool {
				lines = nil
				for _, p := range got.all() {
					lines = append(lines, strings.Split(p, "\n")...)
				}
				return len(lines) >= 1 && (tc.desc != "kong names" || len(lines) >= 8)
			}, 20*time.Second, 10*time.Millisecond)
			tc.want(t, lines)
		})
	}
}

func TestDatadogEndToEnd(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	got := packetReceiver(t, pc)
	cfg := logSnapshot(t, "datadog", map[string]any{"host": "127.0.0.1", "port": pc.LocalAddr().(*net.UDPAddr).Port})
	cfg.KeyAuths = []*model.KeyAuth{{Base: model.Base{ID: "cred-alice"}, Key: aliceKey, Consumer: &model.Ref{ID: plugintest.AliceID}}}
	cfg.Plugins = append(cfg.Plugins, plugintest.Plugin(t, "p-key", "key-auth", nil))
	front := serveWith(t, &plugins.Options{}, cfg)
	res, _ := send(t, front, http.MethodGet, "/api/dd", map[string]string{"apikey": aliceKey})
	require.Equal(t, http.StatusOK, res.StatusCode)
	lines := got.await(t, 6)
	require.Contains(t, lines, "kong.request.count:1|c|#name:svc,status:200,consumer:a-1,app:kong")
	for _, stat := range []string{"latency", "request.size", "response.size", "upstream_latency", "kong_latency"} {
		found := false
		for _, l := range lines {
			found = found || (strings.HasPrefix(l, "kong."+stat+":") && strings.HasSuffix(l, "|ms|#name:svc,status:200,consumer:a-1,app:kong"))
		}
		require.True(t, found, "%s in %v", stat, lines)
	}
}
