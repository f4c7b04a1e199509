package model

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
)

// Certificate, SNI and CA certificate rules
// (kong/db/schema/entities/certificates.lua, snis.lua, ca_certificates.lua).

// Normalize implements Entity: SNI names are lowercased.
func (c *Certificate) Normalize() {
	for i, s := range c.SNIs {
		c.SNIs[i] = strings.ToLower(s)
	}
}

// Validate implements Entity: the certificate and key are PEM, parse and
// belong together, and so do the alternates. Each of the four may instead
// be a vault reference (Kong marks them referenceable), resolved and
// checked by each data plane.
func (c *Certificate) Validate() error {
	f := FieldErrors{}
	checkBase(f, &c.Base)
	checkPair(f, "cert", "key", c.Cert, c.Key)
	switch {
	case c.CertAlt == nil && c.KeyAlt == nil:
	case c.CertAlt == nil || c.KeyAlt == nil:
		f.Add("@entity", "all or none of these fields must be set: 'cert_alt', 'key_alt'")
	default:
		checkPair(f, "cert_alt", "key_alt", *c.CertAlt, *c.KeyAlt)
	}
	for i, s := range c.SNIs {
		if msg := checkWildcardHost(s, false); msg != "" {
			f.Add(fmt.Sprintf("snis.%d", i+1), msg)
		}
	}
	return f.Err()
}

// checkPair validates one certificate and its private key; a vault
// reference is not checked, nor whether the pair belongs together.
func checkPair(f FieldErrors, certField, keyField, cert, key string) {
	okCert := checkRequired(f, certField, cert) && !IsReference(cert)
	okKey := checkRequired(f, keyField, key) && !IsReference(key)
	if okCert {
		if _, err := parseCertificate(cert); err != nil {
			f.Add(certField, "invalid certificate: "+err.Error())
			okCert = false
		}
	}
	if okKey {
		b, _ := pem.Decode([]byte(key))
		if b == nil || !strings.Contains(b.Type, "PRIVATE KEY") {
			f.Add(keyField, "invalid key: not a PEM private key")
			okKey = false
		}
	}
	if okCert && okKey {
		if _, err := tls.X509KeyPair([]byte(cert), []byte(key)); err != nil {
			f.Add("@entity", "certificate does not match key")
		}
	}
}

// parseCertificate decodes the first PEM certificate of s.
func parseCertificate(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("not a PEM certificate")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cannot parse")
	}
	return c, nil
}

// Normalize implements Entity: the name is lowercased.
func (s *SNI) Normalize() { s.Name = strings.ToLower(s.Name) }

// Validate implements Entity.
func (s *SNI) Validate() error {
	f := FieldErrors{}
	checkBase(f, &s.Base)
	if checkRequired(f, "name", s.Name) {
		if msg := checkWildcardHost(s.Name, false); msg != "" {
			f.Add("name", msg)
		}
	}
	checkRef(f, "certificate", s.Certificate)
	return f.Err()
}

// Normalize implements Entity: cert_digest is computed from the
// certificate (hex SHA-256 of its DER form).
func (c *CACertificate) Normalize() {
	if cert, err := parseCertificate(c.Cert); err == nil {
		sum := sha256.Sum256(cert.Raw)
		c.CertDigest = hex.EncodeToString(sum[:])
	}
}

// Validate implements Entity: one PEM certificate that is a CA (or
// self-signed).
func (c *CACertificate) Validate() error {
	f := FieldErrors{}
	checkBase(f, &c.Base)
	if checkRequired(f, "cert", c.Cert) {
		cert, err := parseCertificate(c.Cert)
		_, rest := pem.Decode([]byte(c.Cert))
		switch {
		case err != nil:
			f.Add("cert", "invalid certificate: "+err.Error())
		case len(bytes.TrimSpace(rest)) > 0:
			f.Add("cert", "please submit only one certificate at a time")
		case !cert.IsCA && !selfSigned(cert):
			f.Add("cert", `certificate does not appear to be a CA because it is missing the "CA" basic constraint`)
		}
	}
	return f.Err()
}

// selfSigned reports whether c is signed by its own key.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
