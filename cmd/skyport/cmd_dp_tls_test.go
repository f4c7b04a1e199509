package main

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// TestDPTLS runs a declarative data plane with a certificate: the HTTPS
// listener serves it for its SNI and the default certificate otherwise,
// and plain HTTP on the https-only route answers 426.
func TestDPTLS(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	t.Cleanup(upstream.Close)
	ca := certstest.NewAuthority(t, "ca")
	cert, key := ca.Issue(t, "api", "api.example.com")
	doc := map[string]any{
		"_format_version": "3.0",
		"services": []any{map[string]any{"name": "api", "url": upstream.URL,
			"routes": []any{map[string]any{"name": "api", "hosts": []string{"api.example.com"}, "protocols": []string{"https"}}}}},
		"certificates": []any{map[string]any{"cert": cert, "key": key, "snis": []any{map[string]any{"name": "api.example.com"}}}},
	}
	data, err := yaml.Marshal(doc)
	require.NoError(t, err)
	dir := t.TempDir()
	file := filepath.Join(dir, "kong.yml")
	require.NoError(t, os.WriteFile(file, data, 0o600))

	o := dpOptions{DeclarativeConfig: file, ProxyListen: tlsFreeAddr(t), ProxyTLSListen: tlsFreeAddr(t),
		StatusListen: tlsFreeAddr(t), CacheDir: filepath.Join(dir, "cache"), DrainTimeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDataPlane(ctx, &o, plugin.NewRegistry(), slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	client := func(serverName string) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			ServerName: serverName, RootCAs: ca.Pool(), InsecureSkipVerify: serverName != "api.example.com"}}} //nolint:gosec // the default certificate is self-signed
	}
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", o.ProxyTLSListen)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 30*time.Second, 20*time.Millisecond)

	req, err := http.NewRequest(http.MethodGet, "https://"+o.ProxyTLSListen+"/", nil)
	require.NoError(t, err)
	req.Host = "api.example.com"
	res, err := client("api.example.com").Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "hello", string(body))
	require.Equal(t, "api", res.TLS.PeerCertificates[0].Subject.CommonName)

	res, err = client("other.example.com").Get("https://" + o.ProxyTLSListen + "/")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, "localhost", res.TLS.PeerCertificates[0].Subject.CommonName, "the default certificate")
	info, err := os.Stat(filepath.Join(o.CacheDir, "default.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	req, err = http.NewRequest(http.MethodGet, "http://"+o.ProxyListen+"/", nil)
	require.NoError(t, err)
	req.Host = "api.example.com"
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUpgradeRequired, res.StatusCode)
}

// TestDPOnDemandACME runs a data plane with --acme-* flags against an
// in-process Pebble that really validates the challenges on the data
// plane's listeners: a handshake for a route host gets a certificate
// issued on demand.
func TestDPOnDemandACME(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	t.Cleanup(upstream.Close)
	o := dpOptions{ProxyListen: tlsFreeAddr(t), ProxyTLSListen: tlsFreeAddr(t), StatusListen: tlsFreeAddr(t),
		CacheDir: t.TempDir(), DrainTimeout: time.Second}
	p := certstest.StartPebble(t, &certstest.Validation{HTTPPort: listenPort(o.ProxyListen), TLSPort: listenPort(o.ProxyTLSListen)})
	root := filepath.Join(t.TempDir(), "pebble.pem")
	require.NoError(t, os.WriteFile(root, p.DirectoryRoot, 0o600))
	o.tlsFlags = tlsFlags{ACMEEmail: "ops@example.com", ACMECA: p.Directory, ACMECARoot: root, ACMEPerMinute: 5}
	data, err := yaml.Marshal(map[string]any{
		"_format_version": "3.0",
		"services": []any{map[string]any{"name": "shop", "url": upstream.URL,
			"routes": []any{map[string]any{"name": "shop", "hosts": []string{"shop.example.com"}}}}},
	})
	require.NoError(t, err)
	o.DeclarativeConfig = filepath.Join(t.TempDir(), "kong.yml")
	require.NoError(t, os.WriteFile(o.DeclarativeConfig, data, 0o600))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDataPlane(ctx, &o, plugin.NewRegistry(), slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", o.ProxyTLSListen)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 30*time.Second, 20*time.Millisecond)

	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{ServerName: "shop.example.com", RootCAs: p.Issued}}}
	req, err := http.NewRequest(http.MethodGet, "https://"+o.ProxyTLSListen+"/", nil)
	require.NoError(t, err)
	req.Host = "shop.example.com"
	res, err := c.Do(req)
	require.NoError(t, err, "a certificate issued on demand, trusted through Pebble's root")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, "hello", string(body))
	require.EqualValues(t, 1, p.Orders())
}

func TestNewCertManagerFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "root.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	tests := []struct {
		desc    string
		o       dpOptions
		wantErr string
	}{
		{desc: "defaults", o: dpOptions{}},
		{desc: "certificate without key", o: dpOptions{tlsFlags: tlsFlags{SSLCert: "c.pem"}}, wantErr: "go together"},
		{desc: "missing certificate file", o: dpOptions{tlsFlags: tlsFlags{SSLCert: "absent.pem", SSLCertKey: "absent.key"}}, wantErr: "--ssl-cert"},
		{desc: "acme without storage", o: dpOptions{tlsFlags: tlsFlags{ACMEEmail: "ops@example.com"}}, wantErr: "--acme-storage or --cache-dir"},
		{desc: "acme with a bad root", o: dpOptions{CacheDir: dir, tlsFlags: tlsFlags{ACMEEmail: "ops@example.com", ACMECARoot: notPEM}}, wantErr: "no PEM certificate"},
		{desc: "acme with a bad storage url", o: dpOptions{tlsFlags: tlsFlags{ACMEEmail: "ops@example.com", ACMEStorage: "ftp://x"}}, wantErr: "--acme-storage"},
		{desc: "acme on the cache directory", o: dpOptions{CacheDir: dir, ProxyListen: "127.0.0.1:9000", tlsFlags: tlsFlags{ACMEEmail: "ops@example.com"}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			m, err := newCertManager(context.Background(), &tc.o, slog.New(slog.DiscardHandler))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			m.Close()
		})
	}
}

// tlsFreeAddr is a loopback address with a free port.
func tlsFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}
