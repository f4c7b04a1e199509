// Package proxytest serves a proxy in tests as the data plane serves it:
// a proxy.Frontend (HTTP/1.x on dataplane/h1, HTTP/2 on net/http's
// server) on a loopback listener, with a client for it.
package proxytest

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/dataplane/proxy"
)

// Server is a Frontend serving on a loopback listener.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port or https://….
	URL      string
	Listener net.Listener
	Frontend *proxy.Frontend
	client   *http.Client
	t        testing.TB
	done     chan error
	once     sync.Once
}

// New serves f on a new loopback listener (TLS when f has a TLSConfig)
// until Close, which the test's cleanup calls too.
func New(t testing.TB, f *proxy.Frontend) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxytest: listening: %v", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Listener: ln, Frontend: f, t: t, done: make(chan error, 1),
		client: &http.Client{Transport: &http.Transport{}}}
	if f.TLSConfig != nil {
		s.URL = "https://" + ln.Addr().String()
	}
	go func() { s.done <- f.Serve(ln) }()
	t.Cleanup(s.Close)
	return s
}

// NewTLS serves f over TLS with a certificate for 127.0.0.1, localhost,
// example.com and *.test from a test authority, which Client trusts; f
// offers HTTP/2 (ALPN h2) and HTTP/1.1.
func NewTLS(t testing.TB, f *proxy.Frontend) *Server {
	t.Helper()
	ca := certstest.NewAuthority(t, "proxytest CA")
	certPEM, keyPEM := ca.Issue(t, "example.com", "127.0.0.1", "localhost", "example.com", "*.test")
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatalf("proxytest: %v", err)
	}
	f.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"},
		Certificates: []tls.Certificate{cert}}
	s := New(t, f)
	s.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	return s
}

// Client is an HTTP/1.1 client for the server; its idle connections are
// closed with the server.
func (s *Server) Client() *http.Client { return s.client }

// Close closes the listener and every connection; an error Serve
// returned other than http.ErrServerClosed fails the test.
func (s *Server) Close() {
	s.once.Do(func() {
		_ = s.Frontend.Close()
		if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
			s.t.Errorf("proxytest: serving: %v", err)
		}
		s.client.CloseIdleConnections()
	})
}
