package certstest

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/challtestsrv"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/stretchr/testify/require"
)

// Pebble is Let's Encrypt's test CA, run in this process.
type Pebble struct {
	// Directory is the ACME directory URL.
	Directory string
	// DirectoryRoot is the PEM certificate of the directory's HTTPS.
	DirectoryRoot []byte
	// Issued holds the root of the certificates Pebble issues.
	Issued *x509.CertPool
	orders atomic.Int64
}

// Orders is the number of orders finalized (certificates issued).
func (p *Pebble) Orders() int64 { return p.orders.Load() }

// DirectoryRoots is a pool of DirectoryRoot.
func (p *Pebble) DirectoryRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.DirectoryRoot)
	return pool
}

// Validation is where a Pebble really validates challenges: every name
// resolves to 127.0.0.1, HTTP-01 dials HTTPPort and TLS-ALPN-01 TLSPort.
type Validation struct {
	HTTPPort, TLSPort int
}

// StartPebble starts a CA, stopped when the test ends. With v nil its
// validation authority answers every challenge as valid. It sets Pebble's
// environment, so the calling test cannot be parallel.
func StartPebble(t *testing.T, v *Validation) *Pebble {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	logger := log.New(io.Discard, "", 0)
	var httpPort, tlsPort int
	var resolver string
	if v == nil {
		t.Setenv("PEBBLE_VA_ALWAYS_VALID", "1")
	} else {
		t.Setenv("PEBBLE_VA_ALWAYS_VALID", "0")
		httpPort, tlsPort, resolver = v.HTTPPort, v.TLSPort, startDNS(t)
	}
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, httpPort, tlsPort, false, resolver, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	p := &Pebble{Issued: x509.NewCertPool()}
	p.Issued.AddCert(authority.GetRootCert(0).Cert)
	h := front.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/finalize-order/") {
			p.orders.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = logger
	srv.StartTLS()
	t.Cleanup(srv.Close)
	p.DirectoryRoot = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	p.Directory = srv.URL + wfe.DirectoryPath
	return p
}

// startDNS runs a DNS server answering 127.0.0.1 for every name.
func startDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	srv, err := challtestsrv.New(challtestsrv.Config{DNSAddrs: []string{addr}, Log: log.New(io.Discard, "", 0)})
	require.NoError(t, err)
	srv.SetDefaultDNSIPv4("127.0.0.1")
	srv.SetDefaultDNSIPv6("")
	srv.Run()
	t.Cleanup(srv.Shutdown)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
	return addr
}

// Verify checks a served chain against roots for name.
func Verify(chain []*x509.Certificate, roots *x509.CertPool, name string) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name})
	return err
}
