package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/certs/certstest"
)

var (
	newAuthority = certstest.NewAuthority
	sni          = certstest.SNI
)

// servedCN is the common name of the leaf a handshake with serverName
// gets from cfg's server side; schemes are the client's signature
// schemes, ECDSA P-256 when none is given.
func servedCN(t *testing.T, cfg *tls.Config, serverName string, schemes ...tls.SignatureScheme) string {
	t.Helper()
	if len(schemes) == 0 {
		schemes = []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}
	}
	c, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: serverName,
		SupportedVersions: []uint16{tls.VersionTLS13},
		SignatureSchemes:  schemes,
	})
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	require.NoError(t, err)
	return leaf.Subject.CommonName
}
