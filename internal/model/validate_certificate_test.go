package model_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// pair is a PEM certificate and key made for a test.
type pair struct {
	cert, key string
	x509      *x509.Certificate
	priv      *ecdsa.PrivateKey
}

// newPair makes a certificate for cn, signed by parent (self-signed when
// nil), a CA when isCA.
func newPair(t *testing.T, cn string, isCA bool, parent *pair) pair {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: isCA, BasicConstraintsValid: true, DNSNames: []string{cn},
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	signer, signerKey := tmpl, priv
	if parent != nil {
		signer, signerKey = parent.x509, parent.priv
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &priv.PublicKey, signerKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	return pair{
		cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		x509: cert, priv: priv,
	}
}

func TestCertificateValidate(t *testing.T) {
	a := newPair(t, "a.example.com", false, nil)
	b := newPair(t, "b.example.com", false, nil)
	runValid(t, func() *model.Certificate { return &model.Certificate{Cert: a.cert, Key: a.key} },
		[]validCase[*model.Certificate]{
			{desc: "valid"},
			{desc: "with alternate pair and snis", mutate: func(c *model.Certificate) {
				c.CertAlt, c.KeyAlt = model.String(b.cert), model.String(b.key)
				c.SNIs = []string{"A.example.com", "*.example.com"}
			}},
			{desc: "vault references", mutate: func(c *model.Certificate) {
				c.Cert, c.Key = "{vault://env/tls-cert}", "{vault://env/tls-key}"
				c.CertAlt, c.KeyAlt = model.String(b.cert), model.String("{vault://env/tls-key-alt}")
			}},
			{desc: "a reference beside a bad certificate", mutate: func(c *model.Certificate) { c.Cert, c.Key = "hello", "{vault://env/k}" },
				want: map[string]string{"cert": "invalid certificate"}},
			{desc: "missing", mutate: func(c *model.Certificate) { c.Cert, c.Key = "", "" },
				want: map[string]string{"cert": "required field missing", "key": "required field missing"}},
			{desc: "not pem", mutate: func(c *model.Certificate) { c.Cert, c.Key = "hello", "world" },
				want: map[string]string{"cert": "invalid certificate", "key": "invalid key"}},
			{desc: "mismatch", mutate: func(c *model.Certificate) { c.Key = b.key },
				want: map[string]string{"@entity": "certificate does not match key"}},
			{desc: "alt half set", mutate: func(c *model.Certificate) { c.CertAlt = model.String(b.cert) },
				want: map[string]string{"@entity": "all or none of these fields must be set: 'cert_alt', 'key_alt'"}},
			{desc: "bad sni", mutate: func(c *model.Certificate) { c.SNIs = []string{"a.*.com"} },
				want: map[string]string{"snis.1": "invalid wildcard"}},
		})
}

func TestSNIValidate(t *testing.T) {
	runValid(t, func() *model.SNI {
		return &model.SNI{Name: "Example.COM", Certificate: &model.Ref{ID: uuidA}}
	}, []validCase[*model.SNI]{
		{desc: "valid"},
		{desc: "leftmost wildcard", mutate: func(s *model.SNI) { s.Name = "*.example.com" }},
		{desc: "rightmost wildcard", mutate: func(s *model.SNI) { s.Name = "example.*" }},
		{desc: "middle wildcard", mutate: func(s *model.SNI) { s.Name = "a.*.com" },
			want: map[string]string{"name": "invalid wildcard: must be placed at leftmost or rightmost label"}},
		{desc: "missing", mutate: func(s *model.SNI) { s.Name, s.Certificate = "", nil },
			want: map[string]string{"name": "required field missing", "certificate": "required field missing"}},
	})
	s := &model.SNI{Name: "Example.COM"}
	s.Normalize()
	require.Equal(t, "example.com", s.Name)
}

func TestCACertificate(t *testing.T) {
	ca := newPair(t, "ca", true, nil)
	leaf := newPair(t, "leaf.example.com", false, &ca)
	selfSigned := newPair(t, "self.example.com", false, nil)
	runValid(t, func() *model.CACertificate { return &model.CACertificate{Cert: ca.cert} },
		[]validCase[*model.CACertificate]{
			{desc: "ca"},
			{desc: "self-signed", mutate: func(c *model.CACertificate) { c.Cert = selfSigned.cert }},
			{desc: "leaf", mutate: func(c *model.CACertificate) { c.Cert = leaf.cert },
				want: map[string]string{"cert": `missing the "CA" basic constraint`}},
			{desc: "two certificates", mutate: func(c *model.CACertificate) { c.Cert = ca.cert + selfSigned.cert },
				want: map[string]string{"cert": "only one certificate"}},
			{desc: "garbage", mutate: func(c *model.CACertificate) { c.Cert = "x" },
				want: map[string]string{"cert": "invalid certificate"}},
		})
	c := &model.CACertificate{Cert: ca.cert}
	c.Normalize()
	sum := sha256.Sum256(ca.x509.Raw)
	require.Equal(t, hex.EncodeToString(sum[:]), c.CertDigest)
}
