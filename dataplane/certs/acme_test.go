package certs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
)

// listeners are a data plane's HTTP and HTTPS sockets, bound before the
// CA starts so it knows where to validate.
type listeners struct{ http, tls net.Listener }

func listen(t *testing.T) *listeners {
	t.Helper()
	l := &listeners{}
	var err error
	l.tls, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l.http, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return l
}

func (l *listeners) httpPort() int { return l.http.Addr().(*net.TCPAddr).Port }
func (l *listeners) tlsPort() int  { return l.tls.Addr().(*net.TCPAddr).Port }

// dataPlane is a manager behind real listeners: HTTPS with its TLS
// configuration and HTTP with its challenge handler.
type dataPlane struct {
	m        *certs.Manager
	httpsURL string
	// http01 and tlsALPN01 count the CA's validation requests.
	http01, tlsALPN01 atomic.Int64
}

func startDataPlane(t *testing.T, p *certstest.Pebble, l *listeners, o certs.ACMEOptions) *dataPlane {
	t.Helper()
	o.Email, o.CA, o.TrustedRoots = "ops@example.com", p.Directory, p.DirectoryRoots()
	o.AltHTTPPort, o.AltTLSALPNPort, o.ListenHost = l.httpPort(), l.tlsPort(), "127.0.0.1"
	m := newManager(t, certs.Options{CacheDir: t.TempDir(), ACME: &o})
	dp := &dataPlane{m: m}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	challenges := m.HTTPChallengeHandler(ok)
	plain := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
			dp.http01.Add(1)
		}
		challenges.ServeHTTP(w, r)
	}))
	plain.Listener.Close()
	plain.Listener = l.http
	plain.Start()
	t.Cleanup(plain.Close)
	secure := httptest.NewUnstartedServer(ok)
	secure.Listener.Close()
	secure.Listener = l.tls
	secure.TLS = m.TLSConfig()
	get := secure.TLS.GetCertificate
	secure.TLS.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if slices.Equal(hello.SupportedProtos, []string{"acme-tls/1"}) {
			dp.tlsALPN01.Add(1)
		}
		return get(hello)
	}
	secure.Config.ErrorLog = log.New(io.Discard, "", 0)
	secure.StartTLS()
	t.Cleanup(secure.Close)
	require.NoError(t, m.Update(context.Background(), &model.Config{Routes: []*model.Route{
		{Hosts: []string{"shop.example.com", "*.tenants.example.com"}},
	}}))
	dp.httpsURL = secure.URL
	return dp
}

// handshake connects with serverName and returns the served chain.
func (d *dataPlane) handshake(t *testing.T, serverName string) []*x509.Certificate {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Minute}, "tcp", strings.TrimPrefix(d.httpsURL, "https://"),
		&tls.Config{ServerName: serverName, InsecureSkipVerify: true}) //nolint:gosec // the test verifies below
	require.NoError(t, err)
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates
}

func TestOnDemand(t *testing.T) {
	p := certstest.StartPebble(t, nil)
	dp := startDataPlane(t, p, listen(t), certs.ACMEOptions{PerMinute: 1})

	chain := dp.handshake(t, "shop.example.com")
	require.NoError(t, certstest.Verify(chain, p.Issued, "shop.example.com"), "a Pebble certificate for the route host")
	require.EqualValues(t, 1, p.Orders())

	again := dp.handshake(t, "shop.example.com")
	require.Equal(t, chain[0].Raw, again[0].Raw, "served from the cache")
	require.EqualValues(t, 1, p.Orders())

	refused := dp.handshake(t, "evil.example.com")
	require.Equal(t, "localhost", refused[0].Subject.CommonName, "a host in no route gets the default certificate")
	require.EqualValues(t, 1, p.Orders())

	limited := dp.handshake(t, "a.tenants.example.com")
	require.Equal(t, "localhost", limited[0].Subject.CommonName, "over the issuance budget: the default certificate")
	require.EqualValues(t, 1, p.Orders())

	// A configured certificate whose SANs cover a route host is served
	// without an order, even with no sni entity.
	ca := newAuthority(t, "ca")
	routes := []*model.Route{{Hosts: []string{"shop.example.com", "san.example.com"}}}
	require.NoError(t, dp.m.Update(context.Background(), &model.Config{Routes: routes,
		Certificates: []*model.Certificate{ca.Certificate(t, "san", "san", "san.example.com")}}))
	require.Equal(t, "san", dp.handshake(t, "san.example.com")[0].Subject.CommonName)
	require.EqualValues(t, 1, p.Orders())

	// Once no route names the host, its on-demand certificate is no
	// longer served.
	require.NoError(t, dp.m.Update(context.Background(), &model.Config{}))
	require.Equal(t, "localhost", dp.handshake(t, "shop.example.com")[0].Subject.CommonName)
}

func TestOnDemandSolvesChallenges(t *testing.T) {
	tests := []struct {
		desc  string
		o     certs.ACMEOptions
		count func(dp *dataPlane) int64
	}{
		{"http-01 on the http listener", certs.ACMEOptions{DisableTLSALPNChallenge: true},
			func(dp *dataPlane) int64 { return dp.http01.Load() }},
		{"tls-alpn-01 on the https listener", certs.ACMEOptions{DisableHTTPChallenge: true},
			func(dp *dataPlane) int64 { return dp.tlsALPN01.Load() }},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			l := listen(t)
			p := certstest.StartPebble(t, &certstest.Validation{HTTPPort: l.httpPort(), TLSPort: l.tlsPort()})
			dp := startDataPlane(t, p, l, tc.o)
			chain := dp.handshake(t, "shop.example.com")
			require.NoError(t, certstest.Verify(chain, p.Issued, "shop.example.com"))
			require.EqualValues(t, 1, p.Orders())
			require.Positive(t, tc.count(dp), "the CA validated through the data plane's listener")
		})
	}
}

func TestOnDemandSharedStorage(t *testing.T) {
	moto := motoserver.Start(t)
	client := s3.NewFromConfig(moto.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	bucket := objstore.NewS3(client, "fleet-certs", "certmagic")
	require.NoError(t, bucket.CreateBucket(context.Background()))
	p := certstest.StartPebble(t, nil)
	var dps []*dataPlane
	for range 2 {
		dps = append(dps, startDataPlane(t, p, listen(t), certs.ACMEOptions{Store: bucket}))
	}
	first := dps[0].handshake(t, "x.tenants.example.com")
	require.NoError(t, certstest.Verify(first, p.Issued, "x.tenants.example.com"))
	second := dps[1].handshake(t, "x.tenants.example.com")
	require.Equal(t, first[0].Raw, second[0].Raw, "the second data plane loads the certificate from the shared storage")
	require.EqualValues(t, 1, p.Orders(), fmt.Sprintf("one order for the fleet, not %d", p.Orders()))
}
