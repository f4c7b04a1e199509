package tls_test

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestUpstreamMutualTLS proxies to an upstream that requires a client
// certificate, with and without the proxy verifying the upstream.
func TestUpstreamMutualTLS(t *testing.T) {
	t.Parallel()
	serverCA, clientCA := certstest.NewAuthority(t, "server-ca"), certstest.NewAuthority(t, "client-ca")
	c, k := serverCA.Issue(t, "upstream", "127.0.0.1")
	pair, err := tls.X509KeyPair([]byte(c), []byte(k))
	require.NoError(t, err)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello "+r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	up.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCA.Pool()}
	up.Config.ErrorLog = log.New(io.Discard, "", 0)
	up.StartTLS()
	t.Cleanup(up.Close)

	g := startGateway(t)
	base := gatewayConfig(t, up.URL, nil)
	open := model.NewRoute()
	open.ID, open.Paths, open.Service = "open", []string{"/"}, &model.Ref{ID: "svc"}
	base.Routes = []*model.Route{open}
	base.Certificates = []*model.Certificate{clientCA.Certificate(t, "client", "gateway", "gateway.test")}
	base.CACertificates = []*model.CACertificate{
		{Base: model.Base{ID: "server-ca"}, Cert: serverCA.PEM},
		{Base: model.Base{ID: "client-ca"}, Cert: clientCA.PEM},
	}
	verify := true
	tests := []struct {
		desc   string
		edit   func(s *model.Service)
		status int
	}{
		{"client certificate and the right ca", func(s *model.Service) {
			s.ClientCertificate, s.TLSVerify, s.CACertificates = &model.Ref{ID: "client"}, &verify, []string{"server-ca"}
		}, http.StatusOK},
		{"no client certificate", func(*model.Service) {}, http.StatusBadGateway},
		{"client certificate, the wrong ca", func(s *model.Service) {
			s.ClientCertificate, s.TLSVerify, s.CACertificates = &model.Ref{ID: "client"}, &verify, []string{"client-ca"}
		}, http.StatusBadGateway},
		{"client certificate, tls_verify unset", func(s *model.Service) {
			s.ClientCertificate = &model.Ref{ID: "client"}
		}, http.StatusOK},
	}
	// One gateway, one configuration after another: each apply must
	// rebuild the service's upstream TLS.
	for _, tc := range tests {
		svc := *base.Services[0]
		svc.Protocol = "https"
		tc.edit(&svc)
		cfg := *base
		cfg.Services = []*model.Service{&svc}
		require.NoError(t, g.apply(context.Background(), &cfg), tc.desc)
		res, err := http.Get(g.plain.URL + "/any")
		require.NoError(t, err, tc.desc)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, tc.status, res.StatusCode, "%s: %s", tc.desc, body)
		if tc.status == http.StatusOK {
			require.Equal(t, "hello gateway", string(body), tc.desc)
		}
	}
}
