package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/skyport-gw/skyport/internal/model"
)

// ErrVerifyDepth: the upstream's chain is longer than tls_verify_depth.
var ErrVerifyDepth = errors.New("certificate chain longer than tls_verify_depth")

// UpstreamTLS is the client TLS configuration for a service's upstream
// connections, nil when the service's protocol is not over TLS (https,
// wss, grpcs, tls). up is the upstream the service's host names, nil when
// the host is dialled directly. Kong's semantics:
//
//   - tls_verify unset means Kong's global default, which is off: the
//     upstream's certificate is not verified unless tls_verify is true;
//   - ca_certificates (ids) replace the system roots when verifying;
//   - tls_verify_depth, when set, bounds the intermediates between the
//     leaf and the trusted root (OpenSSL's depth: 0 accepts only a trusted
//     leaf, 1 a leaf signed by a root, …);
//   - client_certificate is presented for mutual TLS; the service's wins,
//     the upstream's is the fallback;
//   - the server name is the service's host, or the upstream's
//     host_header; empty (the target's host) for an upstream without one.
func UpstreamTLS(svc *model.Service, up *model.Upstream, cfg *model.Config) (*tls.Config, error) {
	switch svc.Protocol {
	case "https", "wss", "grpcs", "tls":
	default:
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: svc.Host}
	if up != nil {
		c.ServerName = ""
		if up.HostHeader != nil {
			c.ServerName = *up.HostHeader
		}
	}
	if err := clientCertificate(c, svc, up, cfg); err != nil {
		return nil, err
	}
	if svc.TLSVerify == nil || !*svc.TLSVerify {
		c.InsecureSkipVerify = true //nolint:gosec // Kong verifies upstreams only with tls_verify
		return c, nil
	}
	if len(svc.CACertificates) > 0 {
		pool, err := caPool(svc.CACertificates, cfg)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.ID, err)
		}
		c.RootCAs = pool
	}
	if d := svc.TLSVerifyDepth; d != nil {
		depth := *d
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			for _, chain := range cs.VerifiedChains {
				if len(chain)-1 <= depth {
					return nil
				}
			}
			return fmt.Errorf("verifying %s: %w (%d)", cs.ServerName, ErrVerifyDepth, depth)
		}
	}
	return c, nil
}

// clientCertificate sets the service's (else the upstream's) client
// certificate on c.
func clientCertificate(c *tls.Config, svc *model.Service, up *model.Upstream, cfg *model.Config) error {
	ref := svc.ClientCertificate
	if ref == nil && up != nil {
		ref = up.ClientCertificate
	}
	if ref == nil {
		return nil
	}
	for _, m := range cfg.Certificates {
		if m.ID == ref.ID {
			p, err := parsePair(m)
			if err != nil {
				return fmt.Errorf("service %s client certificate: %w", svc.ID, err)
			}
			c.Certificates = []tls.Certificate{*p.main}
			return nil
		}
	}
	return fmt.Errorf("service %s client certificate %s: %w", svc.ID, ref.ID, ErrUnknownCertificate)
}

// caPool is the pool of the ca_certificates with the given ids.
func caPool(ids []string, cfg *model.Config) (*x509.CertPool, error) {
	byID := make(map[string]*model.CACertificate, len(cfg.CACertificates))
	for _, ca := range cfg.CACertificates {
		byID[ca.ID] = ca
	}
	pool := x509.NewCertPool()
	for _, id := range ids {
		ca := byID[id]
		if ca == nil {
			return nil, fmt.Errorf("ca_certificate %s: %w", id, ErrUnknownCertificate)
		}
		if !pool.AppendCertsFromPEM([]byte(ca.Cert)) {
			return nil, fmt.Errorf("ca_certificate %s: %w", id, ErrBadCertificate)
		}
	}
	return pool, nil
}
