package model

// Certificate is a PEM certificate and key served for its SNIs.
type Certificate struct {
	Base
	// Cert and Key are PEM; CertAlt and KeyAlt an optional second pair
	// (ECDSA beside RSA).
	Cert    string  `json:"cert"`
	Key     string  `json:"key"`
	CertAlt *string `json:"cert_alt"`
	KeyAlt  *string `json:"key_alt"`
	// SNIs is the shorthand list of SNI names; the Admin API and the
	// declarative format turn it into sni entities.
	SNIs []string `json:"snis,omitempty"`
}

// Kind implements Entity.
func (*Certificate) Kind() Kind { return KindCertificate }

// References implements Entity.
func (*Certificate) References() []Reference { return nil }

// UniqueKeys implements Entity.
func (*Certificate) UniqueKeys() []UniqueKey { return nil }

// SNI maps a server name (exact or wildcard) to a certificate.
type SNI struct {
	Base
	// Name is the server name, "example.com" or "*.example.com"; unique.
	Name string `json:"name"`
	// Certificate is the certificate served for Name.
	Certificate *Ref `json:"certificate"`
}

// Kind implements Entity.
func (*SNI) Kind() Kind { return KindSNI }

// References implements Entity.
func (s *SNI) References() []Reference {
	return refs("certificate", KindCertificate, s.Certificate)
}

// UniqueKeys implements Entity.
func (s *SNI) UniqueKeys() []UniqueKey { return uniques("name", s.Name) }

// CACertificate is a trusted CA, used to verify upstreams (and clients).
type CACertificate struct {
	Base
	// Cert is one PEM CA certificate.
	Cert string `json:"cert"`
	// CertDigest is the hex SHA-256 of the DER certificate; unique; computed
	// when absent.
	CertDigest string `json:"cert_digest,omitempty"`
}

// Kind implements Entity.
func (*CACertificate) Kind() Kind { return KindCACertificate }

// References implements Entity.
func (*CACertificate) References() []Reference { return nil }

// UniqueKeys implements Entity.
func (c *CACertificate) UniqueKeys() []UniqueKey { return uniques("cert_digest", c.CertDigest) }
