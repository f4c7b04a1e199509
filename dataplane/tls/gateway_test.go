package tls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/dataplane/proxy/proxytest"
	"github.com/skyport-gw/skyport/internal/model"
)

// gateway is a proxy with its certificate manager behind an HTTP and an
// HTTPS listener, as "skyport dp" runs them.
type gateway struct {
	m             *certs.Manager
	px            *proxy.Server
	plain, secure *proxytest.Server
	revision      int64
}

func startGateway(t *testing.T) *gateway {
	t.Helper()
	m, err := certs.New(certs.Options{})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	g := &gateway{m: m}
	g.px = proxy.New(proxy.Options{Certificates: m, UpstreamTLS: certs.UpstreamTLS})
	t.Cleanup(g.px.Close)
	g.plain = proxytest.New(t, g.px.Frontend(g.m.HTTPChallengeHandler(g.px)))
	secure := g.px.Frontend(nil)
	secure.TLSConfig = g.m.TLSConfig()
	secure.ErrorLog = log.New(io.Discard, "", 0)
	g.secure = proxytest.New(t, secure)
	return g
}

// apply loads cfg as the next revision; the proxy updates the
// certificates.
func (g *gateway) apply(ctx context.Context, cfg *model.Config) error {
	g.revision++
	return g.px.Apply(ctx, cfg, g.revision, "test")
}

// gatewayConfig routes api.example.com (https only) and
// redirect.example.com (https only, redirecting) to upstream, and serves
// certificate cert for api.example.com.
func gatewayConfig(t *testing.T, upstream string, cert *model.Certificate) *model.Config {
	u, err := url.Parse(upstream)
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	svc := model.NewService()
	svc.ID, svc.Host, svc.Port = "svc", u.Hostname(), port
	api := model.NewRoute()
	api.ID, api.Hosts, api.Protocols, api.Service = "api", []string{"api.example.com"}, []string{"https"}, &model.Ref{ID: "svc"}
	redirect := model.NewRoute()
	redirect.ID, redirect.Hosts, redirect.Protocols, redirect.Service = "redirect", []string{"redirect.example.com"}, []string{"https"}, &model.Ref{ID: "svc"}
	redirect.HTTPSRedirectStatusCode = http.StatusMovedPermanently
	cfg := &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{api, redirect}}
	if cert != nil {
		cfg.Certificates = []*model.Certificate{cert}
		cfg.SNIs = []*model.SNI{certstest.SNI("api.example.com", cert.ID)}
	}
	return cfg
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

func TestGateway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	t.Cleanup(upstream.Close)
	ca := certstest.NewAuthority(t, "ca")
	g := startGateway(t)
	issue := func(gen int) *model.Certificate {
		id := fmt.Sprintf("cert-%d", gen)
		return ca.Certificate(t, id, id, "api.example.com")
	}
	require.NoError(t, g.apply(ctx, gatewayConfig(t, upstream.URL, issue(0))))

	c := client(ca.Pool(), "api.example.com")
	get := func(c *http.Client, base, host string) (*http.Response, string, error) {
		req, err := http.NewRequest(http.MethodGet, base+"/orders?id=1", nil)
		require.NoError(t, err)
		req.Host = host
		res, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return res, string(body), err
	}

	t.Run("the certificate is served for its SNI right after the apply", func(t *testing.T) {
		res, body, err := get(c, g.secure.URL, "api.example.com")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "hello", body)
		require.Equal(t, "cert-0", res.TLS.PeerCertificates[0].Subject.CommonName)
	})

	t.Run("plain http on an https-only route", func(t *testing.T) {
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, _, err := get(noRedirect, g.plain.URL, "api.example.com")
		require.NoError(t, err)
		require.Equal(t, http.StatusUpgradeRequired, res.StatusCode)
		res, _, err = get(noRedirect, g.plain.URL, "redirect.example.com")
		require.NoError(t, err)
		require.Equal(t, http.StatusMovedPermanently, res.StatusCode)
		require.Equal(t, "https://redirect.example.com/orders?id=1", res.Header.Get("Location"))
	})

	t.Run("rotation fails no request", func(t *testing.T) {
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
					if res, body, err := get(c, g.secure.URL, "api.example.com"); err != nil || res.StatusCode != http.StatusOK || body != "hello" {
						failed.Add(1)
						continue
					}
					done.Add(1)
				}
			})
		}
		for gen := 1; gen <= 10; gen++ {
			before := done.Load()
			require.NoError(t, g.apply(ctx, gatewayConfig(t, upstream.URL, issue(gen))))
			require.Eventually(t, func() bool { return done.Load() > before+2 }, time.Minute, time.Millisecond)
		}
		close(stop)
		wg.Wait()
		require.Zero(t, failed.Load())
		res, _, err := get(c, g.secure.URL, "api.example.com")
		require.NoError(t, err)
		require.Equal(t, "cert-10", res.TLS.PeerCertificates[0].Subject.CommonName)
	})

	t.Run("a bad certificate refuses the snapshot", func(t *testing.T) {
		bad := issue(99)
		bad.Key = issue(98).Key
		require.ErrorIs(t, g.apply(ctx, gatewayConfig(t, upstream.URL, bad)), certs.ErrBadCertificate)
		res, _, err := get(c, g.secure.URL, "api.example.com")
		require.NoError(t, err)
		require.Equal(t, "cert-10", res.TLS.PeerCertificates[0].Subject.CommonName)
	})

	t.Run("deleting the certificate falls back to the default", func(t *testing.T) {
		require.NoError(t, g.apply(ctx, gatewayConfig(t, upstream.URL, nil)))
		insecure := client(nil, "api.example.com")
		insecure.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true
		res, body, err := get(insecure, g.secure.URL, "api.example.com")
		require.NoError(t, err)
		require.Equal(t, "hello", body)
		require.Equal(t, "localhost", res.TLS.PeerCertificates[0].Subject.CommonName)
	})
}
