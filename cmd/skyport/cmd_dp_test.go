package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
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
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDPDeclarative runs "skyport dp --declarative-config" as a real
// process: it becomes ready, proxies to real upstreams (directly and
// through an upstream entity), serves /status and /metrics, logs access
// lines to stdout and drains on SIGTERM.
func TestDPDeclarative(t *testing.T) {
	t.Parallel()
	echo := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s", name, r.URL.RequestURI())
		}))
		t.Cleanup(s.Close)
		return s
	}
	direct, t1, t2 := echo("direct"), echo("t1"), echo("t2")
	kongYML := fmt.Sprintf(`_format_version: "3.0"
services:
  - name: direct
    url: %s/base
    routes:
      - name: direct
        paths: [/direct]
  - name: pooled
    host: pool.internal
    routes:
      - name: pooled
        paths: [/pooled]
        strip_path: false
upstreams:
  - name: pool.internal
    targets:
      - target: %s
      - target: %s
`, direct.URL, t1.Listener.Addr(), t2.Listener.Addr())
	file := filepath.Join(t.TempDir(), "kong.yml")
	require.NoError(t, os.WriteFile(file, []byte(kongYML), 0o600))

	bin := buildSkyport(t)
	proxyAddr, tlsAddr, statusAddr := dpFreeAddr(t), dpFreeAddr(t), dpFreeAddr(t)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "dp", "--declarative-config", file, "--proxy-listen", proxyAddr,
		"--status-listen", statusAddr, "--proxy-tls-listen", tlsAddr, "--drain-timeout", "5s")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("stderr:\n%s\nstdout:\n%s", &stderr, &stdout)
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + statusAddr + "/status/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "the data plane did not become ready")
		time.Sleep(50 * time.Millisecond)
	}

	body := func(url string) (int, string) {
		res, err := http.Get(url)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	code, got := body("http://" + proxyAddr + "/direct/x?y=1")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "direct /base/x?y=1", got)
	seen := map[string]bool{}
	for range 4 {
		code, got = body("http://" + proxyAddr + "/pooled/z")
		assert.Equal(t, http.StatusOK, code)
		name, uri, _ := strings.Cut(got, " ")
		assert.Equal(t, "/pooled/z", uri)
		seen[name] = true
	}
	assert.Equal(t, map[string]bool{"t1": true, "t2": true}, seen)
	code, got = body("http://" + proxyAddr + "/missing")
	assert.Equal(t, http.StatusNotFound, code)
	// kong.response.error's JSON, with the request id (kong/tools/http.lua).
	assert.Regexp(t, `^\{\n  "message":"no Route matched with those values",\n  "request_id":"[0-9a-f]{32}"\n\}$`, got)

	tlsClient := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the default certificate is self-signed
	res, err := tlsClient.Get("https://" + tlsAddr + "/direct/tls")
	require.NoError(t, err)
	got2, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "HTTP/2.0", res.Proto)
	assert.Equal(t, "direct /base/tls", string(got2))

	code, got = body("http://" + statusAddr + "/status")
	require.Equal(t, http.StatusOK, code)
	var st struct {
		Server            map[string]int64 `json:"server"`
		ConfigurationHash string           `json:"configuration_hash"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &st))
	assert.Len(t, st.ConfigurationHash, 32)
	assert.NotEqual(t, strings.Repeat("0", 32), st.ConfigurationHash)
	assert.Equal(t, int64(7), st.Server["total_requests"])
	_, got = body("http://" + statusAddr + "/metrics")
	assert.Contains(t, got, `skyport_http_requests_total{code="200",route="direct",service="direct"} 2`)
	assert.Contains(t, got, `skyport_upstream_target_health{target="`+t1.Listener.Addr().String()+`",upstream="pool.internal"} 1`)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "skyport dp exits cleanly on SIGTERM")
	case <-time.After(15 * time.Second):
		t.Fatal("skyport dp did not stop within 15s of SIGTERM")
	}
	var line map[string]any
	first, _, _ := strings.Cut(stdout.String(), "\n")
	require.NoError(t, json.Unmarshal([]byte(first), &line), "access log lines are JSON")
	assert.Equal(t, "request", line["msg"])
	assert.Equal(t, "/direct/x", line["path"])
	assert.Equal(t, "direct", line["service"])
	assert.EqualValues(t, 200, line["status"])
}

func dpFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// TestStatusListensOnLoopbackByDefault: the status API (metrics, and
// proxy-cache's purge routes when enabled) listens on loopback unless
// told otherwise, as Kong's status_listen; skyport health asks there.
func TestStatusListensOnLoopbackByDefault(t *testing.T) {
	t.Parallel()
	def := regexp.MustCompile(`-status-listen string\n[^\n]*\(default "([^"]*)"\)`)
	for _, cmd := range []string{"dp", "local", "health"} {
		t.Run(cmd, func(t *testing.T) {
			_, _, stderr := runCLI(t, cmd, "-h")
			m := def.FindStringSubmatch(stderr)
			require.NotNil(t, m, stderr)
			host, _, err := net.SplitHostPort(m[1])
			require.NoError(t, err)
			require.True(t, net.ParseIP(host).IsLoopback(), "default %s", m[1])
		})
	}
}
