package certs

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/skyport-gw/skyport/dataplane/certstore"
	"github.com/skyport-gw/skyport/internal/objstore"
)

// ACMEOptions configure on-demand certificates: a name is allowed when a
// route's hosts name it (or a wildcard host matches it) and no SNI covers
// it; everything else is refused and gets the default certificate. A
// name the SANs of a configured certificate cover is served that
// certificate rather than a new one. A name whose route goes away stops
// being served its on-demand certificate at once.
type ACMEOptions struct {
	// Email is the ACME account's contact.
	Email string
	// CA is the ACME directory URL; default Let's Encrypt's production.
	CA string
	// TrustedRoots, when set, are the only roots trusted for the CA's
	// own HTTPS endpoint (a test CA).
	TrustedRoots *x509.CertPool
	// Store holds accounts, certificates and issuance locks (through a
	// certstore.Storage the Manager owns); data planes sharing it (one
	// bucket and prefix) obtain each certificate once. Default: a
	// directory below the Manager's CacheDir.
	Store objstore.Store
	// Storage, when set, is used instead of Store: any certmagic storage,
	// owned by the caller.
	Storage certmagic.Storage
	// PerMinute bounds issuances: a token bucket of PerMinute tokens
	// refilled over a minute. Default 10.
	PerMinute int
	// AltHTTPPort and AltTLSALPNPort are where this process answers the
	// HTTP-01 and TLS-ALPN-01 challenges (the proxy's listeners) when the
	// CA's validation reaches them on other ports (a load balancer, tests).
	AltHTTPPort, AltTLSALPNPort int
	// ListenHost is the host those listeners bind ("" for all
	// interfaces), so that certmagic recognises them as taken.
	ListenHost string
	// DisableHTTPChallenge and DisableTLSALPNChallenge turn a challenge
	// type off.
	DisableHTTPChallenge, DisableTLSALPNChallenge bool
}

// enableACME configures certmagic for on-demand issuance.
func (m *Manager) enableACME(opts *ACMEOptions, cacheDir string) error {
	o := *opts
	if o.Storage == nil {
		if o.Store == nil {
			store, err := acmeDir(cacheDir)
			if err != nil {
				return err
			}
			o.Store = store
		}
		m.store = certstore.New(o.Store)
		o.Storage = m.store
	}
	perMinute := o.PerMinute
	if perMinute <= 0 {
		perMinute = 10
	}
	m.magic.Storage = o.Storage
	m.magic.OnDemand = &certmagic.OnDemandConfig{DecisionFunc: m.decide}
	m.acme = certmagic.NewACMEIssuer(m.magic, certmagic.ACMEIssuer{
		CA:                      o.CA,
		Email:                   o.Email,
		Agreed:                  true,
		TrustedRoots:            o.TrustedRoots,
		AltHTTPPort:             o.AltHTTPPort,
		AltTLSALPNPort:          o.AltTLSALPNPort,
		ListenHost:              o.ListenHost,
		DisableHTTPChallenge:    o.DisableHTTPChallenge,
		DisableTLSALPNChallenge: o.DisableTLSALPNChallenge,
		Logger:                  m.magic.Logger,
	})
	b := newBucket(perMinute, time.Minute, time.Now)
	m.magic.Issuers = []certmagic.Issuer{limitedIssuer{ACMEIssuer: m.acme, take: b.take}}
	return nil
}

// acmeDir is the default ACME store: <cacheDir>/acme, private to this
// user since it holds account and certificate keys.
func acmeDir(cacheDir string) (*objstore.Dir, error) {
	if cacheDir == "" {
		return nil, fmt.Errorf("configuring ACME: no store and no cache directory")
	}
	dir := filepath.Join(cacheDir, "acme")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("configuring ACME: %w", err)
	}
	store, err := objstore.NewDir(dir)
	if err != nil {
		return nil, fmt.Errorf("configuring ACME: %w", err)
	}
	return store, nil
}

// decide is certmagic's DecisionFunc.
func (m *Manager) decide(_ context.Context, name string) error { return m.allowed(name) }

// allowed applies the on-demand policy to name against the current
// snapshot; it fails closed.
func (m *Manager) allowed(name string) error {
	t := m.cur.Load()
	switch {
	case t.lookup(name) != nil:
		return fmt.Errorf("%s has a configured certificate: %w", name, ErrNotAllowed)
	case !t.hosts.match(name):
		return fmt.Errorf("%s is not a route host: %w", name, ErrNotAllowed)
	}
	return nil
}

// HTTPChallengeHandler answers ACME HTTP-01 challenges under
// /.well-known/acme-challenge/ and passes every other request to next;
// it is next itself when on-demand issuance is off.
func (m *Manager) HTTPChallengeHandler(next http.Handler) http.Handler {
	if m.acme == nil {
		return next
	}
	return m.acme.HTTPChallengeHandler(next)
}

// limitedIssuer spends a token of the issuance budget before each order.
type limitedIssuer struct {
	*certmagic.ACMEIssuer
	take func() bool
}

// Issue implements certmagic.Issuer; over budget it fails without retry.
func (i limitedIssuer) Issue(ctx context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	if !i.take() {
		return nil, certmagic.ErrNoRetry{Err: ErrRateLimited}
	}
	return i.ACMEIssuer.Issue(ctx, csr)
}
