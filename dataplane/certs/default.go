package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// Names of the generated default certificate's files in the cache
// directory.
const (
	defaultCertFile = "default.crt"
	defaultKeyFile  = "default.key"
)

// defaultCertificate returns the configured default certificate, else the
// one generated earlier in dir, else a new self-signed one (kept in dir
// when dir is set).
func defaultCertificate(dir string, certPEM, keyPEM []byte) (*tls.Certificate, error) {
	if len(certPEM) > 0 || len(keyPEM) > 0 {
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("loading the default certificate: %w: %w", ErrBadCertificate, err)
		}
		return &c, nil
	}
	if dir == "" {
		certPEM, keyPEM, err := selfSigned()
		if err != nil {
			return nil, err
		}
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		return &c, err
	}
	certPath, keyPath := filepath.Join(dir, defaultCertFile), filepath.Join(dir, defaultKeyFile)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	if cerr == nil && kerr == nil {
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w: %w", certPath, ErrBadCertificate, err)
		}
		return &c, nil
	}
	for _, err := range []error{cerr, kerr} {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("loading the default certificate: %w", err)
		}
	}
	certPEM, keyPEM, err := selfSigned()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	// The key first: a certificate file is only ever beside its key.
	if err := snapshot.WriteFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("saving the default certificate: %w", err)
	}
	if err := snapshot.WriteFileAtomic(certPath, certPEM, 0o600); err != nil {
		return nil, fmt.Errorf("saving the default certificate: %w", err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	return &c, err
}

// selfSigned makes an ECDSA P-256 certificate for "localhost", as Kong's
// generated default is for its own name, valid for ten years.
func selfSigned() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the default key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("generating the default certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"Skyport"}},
		DNSNames:     []string{"localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the default certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the default key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}
