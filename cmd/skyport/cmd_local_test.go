package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/freeport"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

func TestLocalOptionsCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		args    []string
		wantErr string
	}{
		{desc: "defaults"},
		{desc: "IPv6 loopback and localhost", args: []string{"--backend", "aws", "--admin-listen", "[::1]:9001", "--cluster-listen", "localhost:9005"}},
		{desc: "open admin without a token", args: []string{"--admin-listen", "0.0.0.0:9001"}, wantErr: "--admin-token"},
		{desc: "all interfaces without a token", args: []string{"--admin-listen", ":9001"}, wantErr: "--admin-token"},
		{desc: "open admin with a token", args: []string{"--admin-listen", "0.0.0.0:9001", "--admin-token", "t"}},
		{desc: "open hub without a token", args: []string{"--cluster-listen", "10.0.0.1:9005"}, wantErr: "--cluster-token"},
		{desc: "open hub with a token", args: []string{"--cluster-listen", "0.0.0.0:9005", "--cluster-token", "t", "--cluster-advertise", "cp.example:9005"}},
		{desc: "open hub without an advertised address", args: []string{"--cluster-listen", "0.0.0.0:9005", "--cluster-token", "t"}, wantErr: "--cluster-advertise"},
		{desc: "open hub on one address", args: []string{"--cluster-listen", "10.0.0.1:9005", "--cluster-token", "t"}},
		{desc: "unspecified advertised address", args: []string{"--cluster-listen", "0.0.0.0:9005", "--cluster-token", "t", "--cluster-advertise", "0.0.0.0:9005"}, wantErr: "--cluster-advertise"},
		{desc: "certificate without key", args: []string{"--cluster-cert", "c.pem"}, wantErr: "--cluster-cert-key"},
		{desc: "unknown backend", args: []string{"--backend", "etcd"}, wantErr: "--backend"},
		{desc: "HTTPS proxy disabled", args: []string{"--proxy-tls-listen", ""}},
		// A malformed address is named before any rule about tokens.
		{desc: "admin address without a port", args: []string{"--admin-listen", "nonsense"}, wantErr: `--admin-listen "nonsense": want host:port`},
		{desc: "admin address with a bad port", args: []string{"--admin-listen", "127.0.0.1:http"}, wantErr: `--admin-listen "127.0.0.1:http": want host:port: bad port`},
		{desc: "port out of range", args: []string{"--cluster-listen", "127.0.0.1:70000"}, wantErr: "--cluster-listen"},
		{desc: "bad proxy address", args: []string{"--proxy-listen", "9000"}, wantErr: "--proxy-listen"},
		{desc: "bad status address", args: []string{"--status-listen", ""}, wantErr: "--status-listen"},
		{desc: "bad log format", args: []string{"--log-format", "xml"}, wantErr: "--log-format"},
		{desc: "empty access log", args: []string{"--access-log", ""}, wantErr: "--access-log"},
		{desc: "full snapshot schedule", args: []string{"--full-every", "1", "--full-ratio", "0.5", "--full-max-age", "1h"}},
		{desc: "full snapshot every 0", args: []string{"--full-every", "0"}, wantErr: "--full-every 0: want 1 to 17"},
		{desc: "full snapshot every 18", args: []string{"--full-every", "18"}, wantErr: "--full-every 18"},
		{desc: "negative full ratio", args: []string{"--full-ratio", "-1"}, wantErr: "--full-ratio -1: want a positive number"},
		{desc: "NaN full ratio", args: []string{"--full-ratio", "NaN"}, wantErr: "--full-ratio"},
		{desc: "infinite full ratio", args: []string{"--full-ratio", "+Inf"}, wantErr: "--full-ratio"},
		{desc: "zero full max age", args: []string{"--full-max-age", "0s"}, wantErr: "--full-max-age 0s: want a positive duration"},
		{desc: "full max age past the bucket's margin", args: []string{"--full-max-age", "24h"}, wantErr: "--full-max-age 24h0m0s: want a positive duration up to 23h0m0s"},
		{desc: "boolean access log", args: []string{"--access-log=false"}, wantErr: "no longer a boolean"},
		{desc: "memory limit", args: []string{"--memory-limit", "2g"}},
		{desc: "no memory limit", args: []string{"--memory-limit", "0"}},
		{desc: "bad memory limit", args: []string{"--memory-limit", "much"}, wantErr: `--memory-limit "much": want a size`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var o localOptions
			fs := flag.NewFlagSet("local", flag.ContinueOnError)
			o.register(fs)
			require.NoError(t, fs.Parse(tt.args))
			err := o.check()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestLocalRefusesOpenAdminWithoutToken(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"local", "--data-dir", t.TempDir(), "--admin-listen", "0.0.0.0:0"}, io.Discard, &stderr)
	require.Equal(t, 1, code)
	require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "a one-line error: %q", stderr.String())
	require.Contains(t, stderr.String(), "--admin-token")
}

// localProcess is a running "skyport local".
type localProcess struct {
	cmd                           *exec.Cmd
	admin, cluster, proxy, status string
	stderr                        *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	a, err := freeport.Addr()
	require.NoError(t, err)
	return a
}

// startLocal starts the binary with args plus free loopback ports.
func startLocal(t *testing.T, bin string, env []string, args ...string) *localProcess {
	t.Helper()
	p := &localProcess{admin: freeAddr(t), cluster: freeAddr(t), proxy: freeAddr(t), status: freeAddr(t), stderr: &bytes.Buffer{}}
	args = append([]string{"local", "--admin-listen", p.admin, "--cluster-listen", p.cluster,
		"--proxy-listen", p.proxy, "--status-listen", p.status, "--proxy-tls-listen", ""}, args...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		if t.Failed() {
			t.Logf("skyport local stderr:\n%s", p.stderr)
		}
	})
	eventually(t, "the Admin API answers", func() bool {
		resp, err := http.Get("http://" + p.admin + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		// 401: it answers, asking for the --admin-token it was given.
		return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
	})
	return p
}

// stop interrupts the process, as Ctrl-C does, and waits for a clean exit.
func (p *localProcess) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "skyport local exits cleanly on SIGINT")
	case <-time.After(waitBudget):
		t.Fatalf("skyport local did not stop within %s of SIGINT", waitBudget)
	}
}

// waitBudget bounds every wait on a `skyport local`: generous, since on
// a loaded machine with the AWS emulator (one Python process serving
// every request) starting, creating tables and publishing each take a
// multiple of their usual time.
const waitBudget = 3 * time.Minute

// eventually polls cond every 100ms for up to waitBudget.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBudget)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func adminPost(t *testing.T, p *localProcess, path, body string) {
	t.Helper()
	resp, err := http.Post("http://"+p.admin+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "POST %s: %s", path, b)
}

// served waits until the built-in data plane proxies path to the upstream.
func served(t *testing.T, p *localProcess, path string) {
	t.Helper()
	eventually(t, "the data plane serves "+path, func() bool {
		resp, err := http.Get("http://" + p.proxy + path)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && string(b) == "from upstream"
	})
}

// dataPlanes returns GET /clustering/data-planes.
func dataPlanes(t *testing.T, p *localProcess) []map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + p.admin + "/clustering/data-planes")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Data []map[string]any `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return body.Data
}

// exerciseLocal creates a service and a route, sees the built-in data
// plane serve them and report itself, restarts, and sees the state resume.
func exerciseLocal(t *testing.T, env []string, args ...string) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "from upstream")
	}))
	t.Cleanup(upstream.Close)
	bin := buildSkyport(t)
	args = append([]string{"--data-dir", t.TempDir()}, args...)

	p := startLocal(t, bin, env, args...)
	adminPost(t, p, "/services", fmt.Sprintf(`{"name":"echo","url":%q}`, upstream.URL))
	adminPost(t, p, "/services/echo/routes", `{"name":"echo","paths":["/echo"]}`)
	served(t, p, "/echo")
	eventually(t, "the data plane is listed at revision 2", func() bool {
		dps := dataPlanes(t, p)
		return len(dps) == 1 && dps[0]["revision"] == float64(2) && dps[0]["sync_status"] == "normal"
	})
	p.stop(t)
	requireOneLinePerEvent(t, p.stderr.String())

	p = startLocal(t, bin, env, args...)
	served(t, p, "/echo")
	resp, err := http.Get("http://" + p.admin + "/services/echo")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the store resumed")
	adminPost(t, p, "/services/echo/routes", `{"name":"again","paths":["/again"]}`)
	served(t, p, "/again")
	p.stop(t)
}

func TestLocalEmbedded(t *testing.T) {
	t.Parallel()
	exerciseLocal(t, nil)
}

func TestLocalClusterToken(t *testing.T) {
	t.Parallel()
	p := startLocal(t, buildSkyport(t), nil, "--data-dir", t.TempDir(), "--cluster-token", "dp-secret")
	eventually(t, "the built-in data plane, which presents the token, is listed", func() bool {
		return len(dataPlanes(t, p)) == 1
	})
	tests := []struct {
		desc   string
		header http.Header
		status int
	}{
		{desc: "no token", status: http.StatusUnauthorized},
		{desc: "wrong token", header: http.Header{"Authorization": {"Bearer nope"}}, status: http.StatusUnauthorized},
		{desc: "the token", header: http.Header{"Authorization": {"Bearer dp-secret"}}, status: http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, resp, _ := websocket.Dial(ctx, "ws://"+p.cluster, &websocket.DialOptions{HTTPHeader: tt.header})
		cancel()
		if c != nil {
			_ = c.CloseNow()
		}
		require.NotNil(t, resp, tt.desc)
		require.Equal(t, tt.status, resp.StatusCode, tt.desc)
	}
	// The hub's @connections API, loopback though it is, takes only calls
	// signed with the key this process made for its publisher: not
	// unsigned ones, nor ones signed with a key anyone can guess.
	for _, creds := range []aws.CredentialsProvider{aws.AnonymousCredentials{}, credentials.NewStaticCredentialsProvider("local", "local", "")} {
		api := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
			BaseEndpoint: aws.String("http://" + p.cluster), Region: "us-east-1", Credentials: creds,
		})
		_, err := api.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String("Y29ubg=="), Data: []byte(`{"type":"config","revision":9}`),
		})
		var re *awshttp.ResponseError
		require.True(t, errors.As(err, &re), "%T: %v", creds, err)
		require.Equal(t, http.StatusForbidden, re.HTTPStatusCode(), "%T: %v", creds, err)
	}
	p.stop(t)
}

func TestLocalAWS(t *testing.T) {
	t.Parallel()
	moto := motoserver.Start(t)
	exerciseLocal(t, moto.Env(), "--backend", "aws", "--create",
		"--table", "cfg", "--cluster-table", "cluster", "--bucket", "s3://snapshots/local")
}

// TestLocalControlPlaneAlone runs --dp=false and joins a separate data
// plane with the command the startup message suggests (no fallback: the
// snapshots come through the notices' presigned URLs).
func TestLocalControlPlaneAlone(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "from upstream")
	}))
	t.Cleanup(upstream.Close)
	bin := buildSkyport(t)
	dataDir := t.TempDir()
	cp := startLocal(t, bin, nil, "--data-dir", dataDir, "--dp=false", "--cluster-token", "dp-secret")
	_, err := http.Get("http://" + cp.proxy)
	require.Error(t, err, "no built-in data plane listens")

	dp := &localProcess{proxy: freeAddr(t), status: freeAddr(t), stderr: &bytes.Buffer{}}
	dp.cmd = exec.Command(bin, "dp", "--cp-url", "ws://"+cp.cluster, "--cp-token", "dp-secret",
		"--verify-key", filepath.Join(dataDir, "publisher.pub"), "--cache-dir", t.TempDir(),
		"--proxy-listen", dp.proxy, "--proxy-tls-listen", "", "--status-listen", dp.status)
	dp.cmd.Stderr = dp.stderr
	require.NoError(t, dp.cmd.Start())
	t.Cleanup(func() {
		_ = dp.cmd.Process.Kill()
		_ = dp.cmd.Wait()
		if t.Failed() {
			t.Logf("skyport dp stderr:\n%s", dp.stderr)
		}
	})
	eventually(t, "the data plane is listed", func() bool { return len(dataPlanes(t, cp)) == 1 })
	adminPost(t, cp, "/services", fmt.Sprintf(`{"name":"echo","url":%q}`, upstream.URL))
	adminPost(t, cp, "/services/echo/routes", `{"name":"echo","paths":["/echo"]}`)
	served(t, dp, "/echo")
	dp.stop(t)
	cp.stop(t)
}

// syncBuffer is a bytes.Buffer safe for a process to write while a test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLocalBannerAfterBind: with every port chosen by the system (:0),
// the banner appears once every listener is bound and names the bound
// addresses, and they answer.
func TestLocalBannerAfterBind(t *testing.T) {
	t.Parallel()
	var stdout, stderr syncBuffer
	cmd := exec.Command(buildSkyport(t), "local", "--data-dir", t.TempDir(), "--admin-listen", "127.0.0.1:0",
		"--cluster-listen", "127.0.0.1:0", "--proxy-listen", "127.0.0.1:0", "--proxy-tls-listen", "127.0.0.1:0",
		"--status-listen", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})
	eventually(t, "the banner", func() bool { return strings.Contains(stdout.String(), "Join another data plane") })
	banner := stdout.String()
	require.NotRegexp(t, `:0\b`, banner, "every address is a bound one")
	addr := func(label string) string {
		m := regexp.MustCompile(label + `\s+https?://(127\.0\.0\.1:\d+)`).FindStringSubmatch(banner)
		require.Len(t, m, 2, "%s in %s", label, banner)
		return m[1]
	}
	admin, proxy, status := addr("Admin API:"), addr("Proxy:"), addr("Status:")
	for _, u := range []string{"http://" + admin + "/", "http://" + status + "/status"} {
		resp, err := http.Get(u)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, u)
	}
	resp, err := http.Get("http://" + proxy + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the proxy answers, with no route yet")
}

// TestLocalPortInUse: a listener that cannot bind fails the start, and
// no banner claims Skyport is running.
func TestLocalPortInUse(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(buildSkyport(t), "local", "--data-dir", t.TempDir(), "--admin-listen", "127.0.0.1:0",
		"--cluster-listen", "127.0.0.1:0", "--proxy-listen", taken.Addr().String(), "--proxy-tls-listen", "",
		"--status-listen", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stderr: %s", &stderr)
	require.Equal(t, 1, exit.ExitCode())
	require.NotContains(t, stdout.String(), "Skyport is running")
	require.Contains(t, stderr.String(), "listening for proxy on "+taken.Addr().String())
	require.Contains(t, stderr.String(), "address already in use")
}

// TestLocalDataDirHeld: a second skyport local on the same data
// directory is refused at once, naming the directory and its holder.
func TestLocalDataDirHeld(t *testing.T) {
	t.Parallel()
	bin := buildSkyport(t)
	dataDir := t.TempDir()
	first := startLocal(t, bin, nil, "--data-dir", dataDir)
	var stdout, stderr bytes.Buffer
	second := exec.Command(bin, "local", "--data-dir", dataDir, "--admin-listen", freeAddr(t), "--cluster-listen", freeAddr(t),
		"--proxy-listen", freeAddr(t), "--proxy-tls-listen", "", "--status-listen", freeAddr(t))
	second.Stdout, second.Stderr = &stdout, &stderr
	err := second.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 1, exit.ExitCode())
	msg := stderr.String()
	require.Equal(t, fmt.Sprintf("skyport local: another skyport process holds the data directory %s (process %d): stop it first, or choose another --data-dir\n",
		dataDir, first.cmd.Process.Pid), msg)
	require.Empty(t, stdout.String())
	first.stop(t)
	// Once the first one stopped, the directory is free again.
	startLocal(t, bin, nil, "--data-dir", dataDir).stop(t)
}

// requireOneLinePerEvent checks a process's log (JSON, standard error is
// not a terminal): every line one JSON object without a repeated key,
// each revision's apply logged at most once (the newest once), and no access log line among them
// (the access log is a stream of its own).
func requireOneLinePerEvent(t *testing.T, logs string) {
	t.Helper()
	applied := map[float64]int{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		tok, err := dec.Token()
		require.NoError(t, err, line)
		require.Equal(t, json.Delim('{'), tok, line)
		keys := map[string]bool{}
		fields := map[string]any{}
		for dec.More() {
			k, err := dec.Token()
			require.NoError(t, err, line)
			key := k.(string)
			require.False(t, keys[key], "key %q repeated in %s", key, line)
			keys[key] = true
			var v any
			require.NoError(t, dec.Decode(&v), line)
			fields[key] = v
		}
		require.NotEqual(t, "request", fields["msg"], "an access log line among the logs: %s", line)
		if fields["msg"] == "configuration applied" {
			applied[fields["revision"].(float64)]++
		}
	}
	// A data plane may skip to the newest revision; none is logged twice.
	require.Equal(t, 1, applied[2], "revision 2 applied: %v", applied)
	for rev, n := range applied {
		require.Equal(t, 1, n, "revision %v logged %d times", rev, n)
	}
}

// TestLocalFullSchedule: --full-every and --full-ratio reach the
// publisher: with a ratio no delta reaches (the default 0.25 seals each
// of these small revisions whole), revisions are chained after a full
// snapshot until the chain would hold --full-every deltas.
func TestLocalFullSchedule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startLocal(t, buildSkyport(t), nil, "--data-dir", dir, "--dp=false", "--full-every", "3", "--full-ratio", "1000")
	latest := func() snapshot.Pointer {
		var ptr snapshot.Pointer
		data, err := os.ReadFile(filepath.Join(dir, "snapshots", snapshot.LatestKey))
		if err == nil {
			_ = json.Unmarshal(data, &ptr)
		}
		return ptr
	}
	var chained []bool
	for i := 1; i <= 3; i++ {
		before := latest().Revision
		adminPost(t, p, "/services", fmt.Sprintf(`{"name":"s%d","url":"http://127.0.0.1:1"}`, i))
		eventually(t, "the write is published", func() bool { return latest().Revision > before })
		chained = append(chained, latest().Full != 0)
	}
	require.Equal(t, []bool{false, true, true}, chained, "full-every 3: a full snapshot, then two deltas chained")
	// The third delta is served chained first, then sealed whole.
	before := latest().Revision
	adminPost(t, p, "/services", `{"name":"s4","url":"http://127.0.0.1:1"}`)
	eventually(t, "the fourth write is sealed as a full snapshot", func() bool {
		l := latest()
		return l.Revision > before && l.Full == 0
	})
	p.stop(t)
}
