package certs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/internal/model"
)

// tlsServer serves "ok" over TLS with m's configuration.
func tlsServer(t *testing.T, m *certs.Manager) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.TLS = m.TLSConfig()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// client trusts roots, names serverName, and opens a new connection for
// every request so that each one is a handshake.
func client(roots *x509.CertPool, serverName string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: serverName},
		DisableKeepAlives: true,
		ForceAttemptHTTP2: true,
	}}
}

// leafCN makes one request and returns the served leaf's common name.
func leafCN(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	res, err := c.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.TLS.PeerCertificates[0].Subject.CommonName
}

func TestListenerRotation(t *testing.T) {
	t.Parallel()
	ca := newAuthority(t, "ca")
	m := newManager(t, certs.Options{})
	srv := tlsServer(t, m)
	ctx := context.Background()
	config := func(gen int) *model.Config {
		id := fmt.Sprintf("cert-%d", gen)
		return &model.Config{
			Certificates: []*model.Certificate{ca.Certificate(t, id, id, "api.example.com")},
			SNIs:         []*model.SNI{sni("api.example.com", id)},
		}
	}
	require.NoError(t, m.Update(ctx, config(0)))
	c := client(ca.Pool(), "api.example.com")
	require.Equal(t, "cert-0", leafCN(t, c, srv.URL), "served right after the update")

	// A client loop over fresh TLS connections runs through the rotations;
	// every request must succeed with a certificate for the name.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var done, failed atomic.Int64
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := c.Get(srv.URL)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				done.Add(1)
			}
		})
	}
	for gen := 1; gen <= 20; gen++ {
		before := done.Load()
		require.NoError(t, m.Update(ctx, config(gen)))
		require.Eventually(t, func() bool { return done.Load() > before+2 }, time.Minute, time.Millisecond,
			"the client loop makes progress after each rotation")
	}
	close(stop)
	wg.Wait()
	require.Zero(t, failed.Load(), "requests failed during rotation")
	require.Positive(t, done.Load())
	require.Equal(t, "cert-20", leafCN(t, c, srv.URL))

	// Deleting the certificate falls back to the default one, which the
	// client does not trust.
	require.NoError(t, m.Update(ctx, &model.Config{}))
	_, err := c.Get(srv.URL)
	require.ErrorAs(t, err, new(*tls.CertificateVerificationError))
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "api.example.com", InsecureSkipVerify: true}}}
	require.Equal(t, "localhost", leafCN(t, insecure, srv.URL))
}
