// Package preflight compiles a configuration exactly as a data plane
// would before swapping it in (router, plugin chains and their configs,
// upstream pools, upstream TLS, certificates and SNIs), without serving
// it: the control plane's publisher refuses, before signing, a revision a
// data plane would reject. CheckChange answers as Check for a
// configuration that follows one it accepted, compiling only what the
// change touches and what depends on it.
//
// Vault references are the exception: each data plane resolves them from
// its own environment, so the publisher cannot tell whether they resolve.
// Plugin configurations are compiled with their references as written,
// and a certificate whose key material is a reference is checked with a
// stand-in pair (its SNIs and the services using it still are).
package preflight

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/skyport-gw/skyport/dataplane/certs"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// Checker compiles configurations with the data plane's compiler and
// every plugin the data plane ships. It is safe for concurrent use.
type Checker struct {
	px *proxy.Server

	standIn struct {
		once      sync.Once
		cert, key string
		err       error
	}
}

// New returns a Checker.
func New() *Checker {
	return &Checker{px: proxy.New(proxy.Options{
		Registry: plugins.Registry(), UpstreamTLS: certs.UpstreamTLS, Log: slog.New(slog.DiscardHandler),
	})}
}

// Check returns the error a data plane would refuse cfg with, nil when it
// would apply it.
func (c *Checker) Check(ctx context.Context, cfg *model.Config) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("checking configuration: %w", err)
	}
	cfg, err := c.withoutCertificateReferences(cfg)
	if err != nil {
		return err
	}
	if err := c.px.Check(cfg); err != nil {
		return err
	}
	return certs.Check(cfg)
}

// withoutCertificateReferences returns cfg with the stand-in pair in
// place of every certificate whose key material holds a reference; cfg
// itself is not changed.
func (c *Checker) withoutCertificateReferences(cfg *model.Config) (*model.Config, error) {
	if cfg == nil {
		return nil, nil
	}
	var out *model.Config
	for i, m := range cfg.Certificates {
		if !model.IsReference(m.Cert) && !model.IsReference(m.Key) &&
			(m.CertAlt == nil || !model.IsReference(*m.CertAlt)) && (m.KeyAlt == nil || !model.IsReference(*m.KeyAlt)) {
			continue
		}
		cert, key, err := c.standInPair()
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = cfg.Clone()
		}
		cp := *m
		cp.Cert, cp.Key = cert, key
		if cp.CertAlt != nil || cp.KeyAlt != nil {
			cp.CertAlt, cp.KeyAlt = &cert, &key
		}
		out.Certificates[i] = &cp
	}
	if out == nil {
		return cfg, nil
	}
	return out, nil
}

// standInPair is a self-signed ECDSA pair made once.
func (c *Checker) standInPair() (cert, key string, err error) {
	s := &c.standIn
	s.once.Do(func() {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			s.err = fmt.Errorf("generating the stand-in key: %w", err)
			return
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stand-in"},
			NotBefore: time.Unix(0, 0), NotAfter: time.Unix(0, 0).AddDate(100, 0, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			s.err = fmt.Errorf("generating the stand-in certificate: %w", err)
			return
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			s.err = fmt.Errorf("encoding the stand-in key: %w", err)
			return
		}
		s.cert = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		s.key = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	})
	return s.cert, s.key, s.err
}
