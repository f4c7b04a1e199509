package proxy_test

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/dataplane/proxy"
)

// listener is a proxy listener as the data plane runs one: the
// Frontend, on a real socket, with TLS when it has a config.
type listener struct {
	addr string
	// roots trusts the TLS listener's certificate (for "localhost" and
	// "*.test").
	roots *tls.Config
}

// serveProxy serves px on a plain listener, or on a TLS one with ALPN
// h2 and http/1.1 (as certs.Manager.TLSConfig offers) when secure.
func serveProxy(t *testing.T, px *proxy.Server, secure bool) *listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := px.Frontend(nil)
	l := &listener{addr: ln.Addr().String()}
	if secure {
		srv.TLSConfig, l.roots = listenerTLS(t)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serving the proxy: %v", err)
		}
	})
	return l
}

// listenerTLS is a TLS listener's configuration with ALPN h2 and
// http/1.1 (as certs.Manager.TLSConfig offers) and a client's that
// trusts its certificate (for "localhost" and "*.test").
func listenerTLS(t *testing.T) (server, roots *tls.Config) {
	t.Helper()
	ca := certstest.NewAuthority(t, "proxy CA")
	certPEM, keyPEM := ca.Issue(t, "localhost", "localhost", "127.0.0.1", "*.test")
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	require.NoError(t, err)
	server = &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"},
		Certificates: []tls.Certificate{cert}}
	roots = &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}
	return server, roots
}

// client returns an HTTP client for the listener speaking the given
// protocols (HTTP/2 over TLS, h2c with prior knowledge, or HTTP/1.1).
func (l *listener) client(t *testing.T, h1, h2, h2c bool) *http.Client {
	t.Helper()
	p := new(http.Protocols)
	p.SetHTTP1(h1)
	p.SetHTTP2(h2)
	p.SetUnencryptedHTTP2(h2c)
	tr := &http.Transport{Protocols: p}
	if l.roots != nil {
		// The transport adds to its config's NextProtos: one each.
		tr.TLSClientConfig = l.roots.Clone()
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// url is the listener's base URL.
func (l *listener) url() string {
	if l.roots != nil {
		return "https://" + l.addr
	}
	return "http://" + l.addr
}
