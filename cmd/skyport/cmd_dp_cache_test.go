package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDPProxyCache: a kong.yml with proxy-cache, run by "skyport dp":
// the second request is a hit, and the status listener's /proxy-cache
// routes read and purge the entry.
func TestDPProxyCache(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"call":%d}`, calls.Add(1))
	}))
	t.Cleanup(up.Close)
	kongYML := fmt.Sprintf(`_format_version: "3.0"
services:
  - name: api
    url: %s
    routes:
      - name: api
        paths: [/api]
        plugins:
          - name: proxy-cache
            config:
              strategy: memory
`, up.URL)
	file := filepath.Join(t.TempDir(), "kong.yml")
	require.NoError(t, os.WriteFile(file, []byte(kongYML), 0o600))
	bin := buildSkyport(t)
	proxyAddr, statusAddr := dpFreeAddr(t), dpFreeAddr(t)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "dp", "--declarative-config", file, "--proxy-listen", proxyAddr,
		"--status-listen", statusAddr, "--proxy-tls-listen", "", "--access-log", "off", "--proxy-cache-api")
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("stderr:\n%s", &stderr)
		}
	})
	require.Eventually(t, func() bool {
		res, err := http.Get("http://" + statusAddr + "/status/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 60*time.Second, 50*time.Millisecond)

	do := func(method, url string) (*http.Response, string) {
		req, err := http.NewRequest(method, url, nil)
		require.NoError(t, err)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, string(b)
	}
	res, body := do(http.MethodGet, "http://"+proxyAddr+"/api/x")
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"))
	key := res.Header.Get("X-Cache-Key")
	require.Len(t, key, 64)
	res, body2 := do(http.MethodGet, "http://"+proxyAddr+"/api/x")
	require.Equal(t, "Hit", res.Header.Get("X-Cache-Status"))
	require.Equal(t, body, body2)

	res, entry := do(http.MethodGet, "http://"+statusAddr+"/proxy-cache/"+key)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, entry, `"body":"{\"call\":1}"`)
	res, _ = do(http.MethodDelete, "http://"+statusAddr+"/proxy-cache/"+key)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	res, _ = do(http.MethodGet, "http://"+proxyAddr+"/api/x")
	require.Equal(t, "Miss", res.Header.Get("X-Cache-Status"))
	require.EqualValues(t, 2, calls.Load())
}
