package certs_test

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
	"github.com/skyport-gw/skyport/internal/model"
)

// upstreamServer is a TLS upstream with a certificate from serverCA for
// 127.0.0.1 and "upstream.test"; with clientCA set it requires a client
// certificate from it.
func upstreamServer(t *testing.T, serverCA, clientCA *certstest.Authority) *httptest.Server {
	t.Helper()
	c, k := serverCA.Issue(t, "upstream", "upstream.test", "127.0.0.1")
	pair, err := tls.X509KeyPair([]byte(c), []byte(k))
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "anonymous"
		if len(r.TLS.PeerCertificates) > 0 {
			name = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		_, _ = io.WriteString(w, name)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	if clientCA != nil {
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		srv.TLS.ClientCAs = clientCA.Pool()
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func ptr[T any](v T) *T { return &v }

// call makes a request to srv with c and returns the body.
func call(c *tls.Config, srv *httptest.Server) (string, error) {
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: c}}
	defer cl.CloseIdleConnections()
	res, err := cl.Get(srv.URL)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

func TestUpstreamTLS(t *testing.T) {
	t.Parallel()
	serverCA, clientCA, otherCA := newAuthority(t, "server-ca"), newAuthority(t, "client-ca"), newAuthority(t, "other-ca")
	mtls := upstreamServer(t, serverCA, clientCA)
	plain := upstreamServer(t, serverCA, nil)
	cfg := &model.Config{
		Certificates: []*model.Certificate{
			clientCA.Certificate(t, "client", "gateway", "gateway.test"),
			clientCA.Certificate(t, "upstream-client", "gateway-upstream", "gateway.test"),
		},
		CACertificates: []*model.CACertificate{
			{Base: model.Base{ID: "server-ca"}, Cert: serverCA.PEM},
			{Base: model.Base{ID: "other-ca"}, Cert: otherCA.PEM},
		},
	}
	host := func(srv *httptest.Server) string { u, _ := url.Parse(srv.URL); return u.Hostname() }
	tests := []struct {
		desc    string
		srv     *httptest.Server
		svc     model.Service
		up      *model.Upstream
		want    string
		wantErr bool
	}{
		{desc: "client certificate accepted", srv: mtls,
			svc:  model.Service{Protocol: "https", ClientCertificate: &model.Ref{ID: "client"}},
			want: "gateway"},
		{desc: "no client certificate refused", srv: mtls,
			svc: model.Service{Protocol: "https"}, wantErr: true},
		{desc: "the upstream's client certificate is the fallback", srv: mtls,
			svc: model.Service{Protocol: "https"}, up: &model.Upstream{ClientCertificate: &model.Ref{ID: "upstream-client"}},
			want: "gateway-upstream"},
		{desc: "the service's client certificate wins", srv: mtls,
			svc: model.Service{Protocol: "https", ClientCertificate: &model.Ref{ID: "client"}},
			up:  &model.Upstream{ClientCertificate: &model.Ref{ID: "upstream-client"}}, want: "gateway"},
		{desc: "tls_verify unset does not verify", srv: plain,
			svc: model.Service{Protocol: "https"}, want: "anonymous"},
		{desc: "tls_verify with the right ca", srv: plain,
			svc:  model.Service{Protocol: "https", TLSVerify: ptr(true), CACertificates: []string{"server-ca"}},
			want: "anonymous"},
		{desc: "tls_verify with another ca", srv: plain,
			svc: model.Service{Protocol: "https", TLSVerify: ptr(true), CACertificates: []string{"other-ca"}}, wantErr: true},
		{desc: "tls_verify with the system roots", srv: plain,
			svc: model.Service{Protocol: "https", TLSVerify: ptr(true)}, wantErr: true},
		{desc: "tls_verify_depth 1 accepts a leaf signed by the root", srv: plain,
			svc:  model.Service{Protocol: "https", TLSVerify: ptr(true), TLSVerifyDepth: ptr(1), CACertificates: []string{"server-ca"}},
			want: "anonymous"},
		{desc: "tls_verify_depth 0 refuses it", srv: plain,
			svc: model.Service{Protocol: "https", TLSVerify: ptr(true), TLSVerifyDepth: ptr(0), CACertificates: []string{"server-ca"}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			tc.svc.ID, tc.svc.Host = "svc", host(tc.srv)
			c, err := certs.UpstreamTLS(&tc.svc, tc.up, cfg)
			require.NoError(t, err)
			got, err := call(c, tc.srv)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestUpstreamTLSConfig(t *testing.T) {
	t.Parallel()
	cfg := &model.Config{CACertificates: []*model.CACertificate{{Base: model.Base{ID: "bad"}, Cert: "not pem"}}}
	tests := []struct {
		desc string
		svc  model.Service
		up   *model.Upstream
		name string
		want error
	}{
		{desc: "plain http has none", svc: model.Service{Protocol: "http", Host: "a.test"}},
		{desc: "server name is the host", svc: model.Service{Protocol: "https", Host: "a.test"}, name: "a.test"},
		{desc: "an upstream's host_header", svc: model.Service{Protocol: "grpcs", Host: "pool"},
			up: &model.Upstream{HostHeader: ptr("h.test")}, name: "h.test"},
		{desc: "an upstream without host_header leaves it to the target", svc: model.Service{Protocol: "wss", Host: "pool"},
			up: &model.Upstream{}},
		{desc: "unknown client certificate", svc: model.Service{Protocol: "https", Host: "a", ClientCertificate: &model.Ref{ID: "x"}},
			want: certs.ErrUnknownCertificate},
		{desc: "unknown ca certificate", svc: model.Service{Protocol: "https", Host: "a", TLSVerify: ptr(true), CACertificates: []string{"x"}},
			want: certs.ErrUnknownCertificate},
		{desc: "bad ca certificate", svc: model.Service{Protocol: "https", Host: "a", TLSVerify: ptr(true), CACertificates: []string{"bad"}},
			want: certs.ErrBadCertificate},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			c, err := certs.UpstreamTLS(&tc.svc, tc.up, cfg)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			if tc.svc.Protocol == "http" {
				require.Nil(t, c)
				return
			}
			require.Equal(t, tc.name, c.ServerName)
			require.Equal(t, uint16(tls.VersionTLS12), c.MinVersion)
		})
	}
}
