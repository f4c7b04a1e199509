package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

func selfSignedEntity(t *testing.T, id string, names ...string) *model.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: id},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return &model.Certificate{Base: model.Base{ID: id},
		Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		Key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))}
}

func TestUpdateMaintainsCertmagicCache(t *testing.T) {
	t.Parallel()
	m, err := New(Options{})
	require.NoError(t, err)
	defer m.Close()
	ctx := context.Background()
	a, b := selfSignedEntity(t, "a", "a.test"), selfSignedEntity(t, "b", "b.test")
	require.NoError(t, m.Update(ctx, &model.Config{Certificates: []*model.Certificate{a, b}}))
	require.Len(t, m.cache.AllMatchingCertificates("a.test"), 1)
	require.True(t, m.cache.AllMatchingCertificates("a.test")[0].HasTag(tagPrefix+"a"))
	require.Len(t, m.cache.AllMatchingCertificates("b.test"), 1)

	require.NoError(t, m.Update(ctx, &model.Config{Certificates: []*model.Certificate{b}}))
	require.Empty(t, m.cache.AllMatchingCertificates("a.test"), "a left the snapshot")
	require.Len(t, m.cache.AllMatchingCertificates("b.test"), 1)

	require.NoError(t, m.Update(ctx, nil))
	require.Empty(t, m.cache.AllMatchingCertificates("b.test"))
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	m, err := New(Options{})
	require.NoError(t, err)
	defer m.Close()
	require.ErrorIs(t, m.allowed("shop.example.com"), ErrNotAllowed, "nothing is allowed before a snapshot")
	cfg := &model.Config{
		Certificates: []*model.Certificate{selfSignedEntity(t, "c", "covered.example.com")},
		SNIs:         []*model.SNI{{Name: "covered.example.com", Certificate: &model.Ref{ID: "c"}}},
		Routes: []*model.Route{
			{Hosts: []string{"shop.example.com", "covered.example.com", "API.example.com:9443"}},
			{Hosts: []string{"*.apps.example.net", "tenant.*"}},
		},
	}
	require.NoError(t, m.Update(context.Background(), cfg))
	tests := []struct {
		name string
		ok   bool
	}{
		{"shop.example.com", true},
		{"api.example.com", true},
		{"a.apps.example.net", true},
		{"a.b.apps.example.net", true},
		{"tenant.example.org", true},
		{"apps.example.net", false},
		{"covered.example.com", false},
		{"evil.example.com", false},
		{"example.com", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := m.allowed(tc.name)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrNotAllowed)
			}
		})
	}
}

func TestBucket(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	b := newBucket(3, time.Minute, func() time.Time { return now })
	for range 3 {
		require.True(t, b.take())
	}
	require.False(t, b.take(), "spent")
	now = now.Add(20 * time.Second)
	require.True(t, b.take(), "one token back after a third of the period")
	require.False(t, b.take())
	now = now.Add(time.Hour)
	for range 3 {
		require.True(t, b.take())
	}
	require.False(t, b.take(), "never more than the bucket's size")
}

func TestLimitedIssuerDoesNotRetry(t *testing.T) {
	t.Parallel()
	i := limitedIssuer{take: func() bool { return false }}
	_, err := i.Issue(context.Background(), nil)
	require.ErrorIs(t, err, ErrRateLimited)
	var noRetry certmagic.ErrNoRetry
	require.True(t, errors.As(err, &noRetry), "certmagic must not retry an order over budget")
}
