package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/internal/protocol"
)

// startDP runs "skyport dp" with args and free listen addresses.
func startDP(t *testing.T, bin string, args ...string) *localProcess {
	t.Helper()
	dp := &localProcess{proxy: freeAddr(t), status: freeAddr(t), stderr: &bytes.Buffer{}}
	args = append([]string{"dp", "--cache-dir", t.TempDir(), "--proxy-listen", dp.proxy,
		"--proxy-tls-listen", "", "--status-listen", dp.status}, args...)
	dp.cmd = exec.Command(bin, args...)
	dp.cmd.Stderr = dp.stderr
	require.NoError(t, dp.cmd.Start())
	t.Cleanup(func() {
		_ = dp.cmd.Process.Kill()
		_ = dp.cmd.Wait()
		if t.Failed() {
			t.Logf("skyport dp stderr:\n%s", dp.stderr)
		}
	})
	return dp
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// TestLocalClusterTLS: with --cluster-cert the cluster listener speaks
// wss only; the built-in data plane and a "skyport dp --cp-ca" join over
// it and fetch their snapshots over https; a client that does not trust
// the certificate cannot connect.
func TestLocalClusterTLS(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "from upstream")
	}))
	t.Cleanup(upstream.Close)
	ca := certstest.NewAuthority(t, "cluster-ca")
	cert, key := ca.Issue(t, "skyport-cp", "127.0.0.1", "localhost")
	certFile, keyFile, caFile := writeTemp(t, "cp.pem", cert), writeTemp(t, "cp-key.pem", key), writeTemp(t, "ca.pem", ca.PEM)
	bin := buildSkyport(t)
	dataDir := t.TempDir()
	p := startLocal(t, bin, nil, "--data-dir", dataDir, "--cluster-cert", certFile, "--cluster-cert-key", keyFile, "--cluster-token", "dp-secret")
	eventually(t, "the built-in data plane joins over wss", func() bool { return len(dataPlanes(t, p)) == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bearer := http.Header{"Authorization": {"Bearer dp-secret"}}
	_, _, err := websocket.Dial(ctx, "ws://"+p.cluster, &websocket.DialOptions{HTTPHeader: bearer})
	require.Error(t, err, "no plain ws on a TLS listener")
	_, _, err = websocket.Dial(ctx, "wss://"+p.cluster, &websocket.DialOptions{HTTPHeader: bearer})
	require.ErrorContains(t, err, "certificate", "the system's roots do not trust a private CA")

	dp := startDP(t, bin, "--cp-url", "wss://"+p.cluster, "--cp-ca", caFile, "--cp-token", "dp-secret",
		"--verify-key", filepath.Join(dataDir, "publisher.pub"), "--node-id", "remote")
	eventually(t, "the data plane with --cp-ca joins over wss", func() bool { return len(dataPlanes(t, p)) == 2 })
	adminPost(t, p, "/services", fmt.Sprintf(`{"name":"echo","url":%q}`, upstream.URL))
	adminPost(t, p, "/services/echo/routes", `{"name":"echo","paths":["/echo"]}`)
	served(t, p, "/echo")
	served(t, dp, "/echo")
	dp.stop(t)
	p.stop(t)
}

// TestLocalClusterAdvertise: on every interface, the cluster listener's
// snapshot URLs name the advertised address, not 127.0.0.1.
func TestLocalClusterAdvertise(t *testing.T) {
	t.Parallel()
	bin := buildSkyport(t)
	_, port, err := net.SplitHostPort(freeAddr(t))
	require.NoError(t, err)
	p := startLocal(t, bin, nil, "--data-dir", t.TempDir(), "--dp=false", "--cluster-token", "dp-secret",
		"--cluster-listen", "0.0.0.0:"+port, "--cluster-advertise", "localhost:"+port)
	adminPost(t, p, "/services", `{"name":"svc","url":"http://upstream.invalid"}`)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var notice protocol.ConfigNotice
	eventually(t, "a hello at revision 0 is told of revision 1", func() bool {
		c, _, err := websocket.Dial(ctx, "ws://127.0.0.1:"+port, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer dp-secret"}}})
		require.NoError(t, err)
		defer c.CloseNow()
		hello, err := json.Marshal(protocol.Hello{Action: protocol.ActionHello, NodeID: "probe"})
		require.NoError(t, err)
		require.NoError(t, c.Write(ctx, websocket.MessageText, hello))
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		defer rcancel()
		_, frame, err := c.Read(rctx)
		return err == nil && json.Unmarshal(frame, &notice) == nil && notice.Revision >= 1
	})
	u, err := url.Parse(notice.URL)
	require.NoError(t, err)
	require.Equal(t, "localhost:"+port, u.Host)
	resp, err := http.Get(notice.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the advertised URL serves the snapshot")
	p.stop(t)
}

// TestLocalAdminThroughProxyRefused: a route whose upstream is the Admin
// API (what the quick start once showed) does not open the Admin API to
// the proxy's clients: without a token it refuses what the proxy forwards.
func TestLocalAdminThroughProxyRefused(t *testing.T) {
	t.Parallel()
	p := startLocal(t, buildSkyport(t), nil, "--data-dir", t.TempDir())
	adminPost(t, p, "/services", fmt.Sprintf(`{"name":"admin","url":"http://%s"}`, p.admin))
	adminPost(t, p, "/services/admin/routes", `{"name":"admin","paths":["/admin"]}`)
	var body []byte
	eventually(t, "the proxy routes /admin to the Admin API, which refuses it", func() bool {
		resp, err := http.Get("http://" + p.proxy + "/admin/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusForbidden
	})
	require.Contains(t, string(body), "proxy")
	resp, err := http.Post("http://"+p.proxy+"/admin/services", "application/x-www-form-urlencoded", strings.NewReader("name=evil&url=http://evil.test"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, err = http.Get("http://" + p.admin + "/services/evil")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "nothing was written through the proxy")
	p.stop(t)
}
