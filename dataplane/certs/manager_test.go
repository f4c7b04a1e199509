package certs_test

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/internal/model"
)

func newManager(t *testing.T, o certs.Options) *certs.Manager {
	t.Helper()
	m, err := certs.New(o)
	require.NoError(t, err)
	t.Cleanup(m.Close)
	return m
}

func TestSelection(t *testing.T) {
	t.Parallel()
	ca := newAuthority(t, "ca")
	short := ca.Certificate(t, "c-short", "short", "short.test")
	short.SNIs = []string{"short.test", "exact.example.com"}
	cfg := &model.Config{
		Certificates: []*model.Certificate{
			ca.Certificate(t, "c-exact", "exact", "exact.example.com"),
			ca.Certificate(t, "c-prefix", "prefix", "*.example.com"),
			ca.Certificate(t, "c-suffix", "suffix", "api.example.org"),
			short,
		},
		SNIs: []*model.SNI{
			sni("exact.example.com", "c-exact"),
			sni("*.example.com", "c-prefix"),
			sni("api.example.*", "c-suffix"),
		},
	}
	m := newManager(t, certs.Options{})
	require.NoError(t, m.Update(context.Background(), cfg))
	tests := []struct {
		desc, serverName, want string
	}{
		{"exact name", "exact.example.com", "exact"},
		{"exact name, any case", "EXACT.Example.com", "exact"},
		{"prefix wildcard", "www.example.com", "prefix"},
		{"prefix wildcard covers one label only", "a.b.example.com", "localhost"},
		{"suffix wildcard", "api.example.net", "suffix"},
		{"shorthand snis", "short.test", "short"},
		{"an sni entity wins over the shorthand", "exact.example.com", "exact"},
		{"no match is the default", "other.test", "localhost"},
		{"no server name is the default", "", "localhost"},
		{"the bare domain is not under its wildcard", "example.com", "localhost"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, servedCN(t, m.TLSConfig(), tc.serverName))
		})
	}
}

func TestAlternateCertificate(t *testing.T) {
	t.Parallel()
	ca := newAuthority(t, "ca")
	rsaCert, rsaKey := ca.IssueRSA(t, "rsa", "dual.test")
	ecCert, ecKey := ca.Issue(t, "ecdsa", "dual.test")
	c := &model.Certificate{Base: model.Base{ID: "dual"}, Cert: rsaCert, Key: rsaKey, CertAlt: &ecCert, KeyAlt: &ecKey,
		SNIs: []string{"dual.test"}}
	m := newManager(t, certs.Options{})
	require.NoError(t, m.Update(context.Background(), &model.Config{Certificates: []*model.Certificate{c}}))
	require.Equal(t, "rsa", servedCN(t, m.TLSConfig(), "dual.test", tls.PSSWithSHA256, tls.ECDSAWithP256AndSHA256))
	require.Equal(t, "ecdsa", servedCN(t, m.TLSConfig(), "dual.test", tls.ECDSAWithP256AndSHA256), "a client without RSA gets the alternate")
}

func TestUpdateRefusesBadSnapshots(t *testing.T) {
	t.Parallel()
	ca := newAuthority(t, "ca")
	good := &model.Config{
		Certificates: []*model.Certificate{ca.Certificate(t, "c1", "one", "one.test")},
		SNIs:         []*model.SNI{sni("one.test", "c1")},
	}
	other := ca.Certificate(t, "c2", "two", "two.test")
	mismatched := ca.Certificate(t, "c3", "three", "three.test")
	mismatched.Key = other.Key
	tests := []struct {
		desc string
		cfg  *model.Config
		want error
	}{
		{"unparsable certificate", &model.Config{Certificates: []*model.Certificate{{Base: model.Base{ID: "bad"}, Cert: "x", Key: "y"}}}, certs.ErrBadCertificate},
		{"key of another certificate", &model.Config{Certificates: []*model.Certificate{mismatched}}, certs.ErrBadCertificate},
		{"sni of an absent certificate", &model.Config{SNIs: []*model.SNI{sni("two.test", "c2")}}, certs.ErrUnknownCertificate},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			m := newManager(t, certs.Options{})
			require.NoError(t, m.Update(context.Background(), good))
			err := m.Update(context.Background(), tc.cfg)
			require.ErrorIs(t, err, tc.want)
			require.NotContains(t, err.Error(), "PRIVATE KEY")
			require.Equal(t, "one", servedCN(t, m.TLSConfig(), "one.test"), "the running certificates stay")
		})
	}
}

func TestDefaultCertificate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	first := newManager(t, certs.Options{CacheDir: dir})
	second := newManager(t, certs.Options{CacheDir: dir})
	a, err := first.GetCertificate(&tls.ClientHelloInfo{})
	require.NoError(t, err)
	b, err := second.GetCertificate(&tls.ClientHelloInfo{})
	require.NoError(t, err)
	require.Equal(t, a.Certificate[0], b.Certificate[0], "generated once, then reused")
	info, err := os.Stat(filepath.Join(dir, "default.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	ca := newAuthority(t, "ca")
	c, k := ca.Issue(t, "configured", "configured.test")
	m := newManager(t, certs.Options{CacheDir: dir, DefaultCert: []byte(c), DefaultKey: []byte(k)})
	require.Equal(t, "configured", servedCN(t, m.TLSConfig(), "nothing.test"))

	_, err = certs.New(certs.Options{DefaultCert: []byte(c), DefaultKey: []byte("garbage")})
	require.ErrorIs(t, err, certs.ErrBadCertificate)
}

func TestTLSConfig(t *testing.T) {
	t.Parallel()
	c := newManager(t, certs.Options{}).TLSConfig()
	require.Equal(t, uint16(tls.VersionTLS12), c.MinVersion)
	require.Equal(t, []string{"h2", "http/1.1"}, c.NextProtos)
}
