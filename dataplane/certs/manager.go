package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/caddyserver/certmagic"

	"github.com/skyport-gw/skyport/dataplane/certstore"
	"github.com/skyport-gw/skyport/internal/model"
)

// Errors returned by Update and the ACME policy, checked with errors.Is.
var (
	// ErrBadCertificate: a certificate entity's PEM does not parse or its
	// key does not match.
	ErrBadCertificate = errors.New("invalid certificate or key")
	// ErrUnknownCertificate: an sni, service or upstream names a
	// certificate (or ca_certificate) the snapshot does not hold.
	ErrUnknownCertificate = errors.New("unknown certificate")
	// ErrNotAllowed: the on-demand policy refuses a name.
	ErrNotAllowed = errors.New("on-demand certificate not allowed")
	// ErrRateLimited: the on-demand issuance budget is spent.
	ErrRateLimited = errors.New("on-demand issuance rate limit reached")
)

// Options configure a Manager.
type Options struct {
	// CacheDir keeps the generated default certificate (default.crt and
	// default.key, mode 0600); empty keeps it in memory only.
	CacheDir string
	// DefaultCert and DefaultKey (PEM) are served when no SNI matches;
	// when empty a self-signed certificate is generated once.
	DefaultCert, DefaultKey []byte
	// ACME enables on-demand certificates; nil disables them.
	ACME *ACMEOptions
	// Log receives operational messages; nil discards them.
	Log *slog.Logger
}

// Manager serves the certificates of the applied snapshot through
// certmagic's cache, falls back to a default certificate, and obtains
// certificates on demand when ACME is configured.
type Manager struct {
	log   *slog.Logger
	cache *certmagic.Cache
	magic *certmagic.Config
	acme  *certmagic.ACMEIssuer // nil when on-demand issuance is off
	def   *tls.Certificate
	store *certstore.Storage // the storage New made, closed by Close
	close sync.Once

	mu     sync.Mutex // serializes Update
	cur    atomic.Pointer[table]
	hashes map[string]bool // certmagic cache entries of cur, guarded by mu
}

// New returns a Manager serving only the default certificate until the
// first Update. Close releases it.
func New(o Options) (*Manager, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	def, err := defaultCertificate(o.CacheDir, o.DefaultCert, o.DefaultKey)
	if err != nil {
		return nil, err
	}
	m := &Manager{log: o.Log, def: def, hashes: map[string]bool{}}
	zl := zapLogger(o.Log)
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           zl,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{Logger: zl, OCSP: certmagic.OCSPConfig{DisableStapling: true}})
	m.cur.Store(&table{})
	if o.ACME != nil {
		if err := m.enableACME(o.ACME, o.CacheDir); err != nil {
			m.cache.Stop()
			return nil, err
		}
	}
	return m, nil
}

// Close stops certmagic's maintenance of the cache and the storage's lock
// keep-alives; calling it again does nothing.
func (m *Manager) Close() {
	m.close.Do(func() {
		m.cache.Stop()
		if m.store != nil {
			m.store.Close()
		}
	})
}

// TLSConfig is the listener's configuration: TLS 1.2 and up, HTTP/2 and
// HTTP/1.1, plus "acme-tls/1" when on-demand issuance is on.
func (m *Manager) TLSConfig() *tls.Config {
	protos := []string{"h2", "http/1.1"}
	if m.acme != nil {
		protos = append(protos, acmeTLS1)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: protos, GetCertificate: m.GetCertificate}
}

// Update makes cfg's certificates and SNIs current. Everything is parsed
// and cached before the swap, so a bad certificate refuses the snapshot
// and changes nothing; certificates that left the snapshot are removed
// from the cache after it. Handshakes in progress are not disturbed.
func (m *Manager) Update(ctx context.Context, cfg *model.Config) error {
	if cfg == nil {
		cfg = &model.Config{}
	}
	t, err := buildTable(cfg)
	if err != nil {
		return fmt.Errorf("loading certificates: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(t.pairs)) {
		p := t.pairs[id]
		for _, c := range []*tls.Certificate{p.main, p.alt} {
			if c == nil {
				continue
			}
			h, err := m.magic.CacheUnmanagedTLSCertificate(ctx, *c, []string{tagPrefix + id})
			if err != nil {
				m.uncache(next, m.hashes)
				return fmt.Errorf("loading certificate %s: %w", id, err)
			}
			next[h] = true
		}
	}
	m.cur.Store(t)
	m.uncache(m.hashes, next)
	m.hashes = next
	m.log.Debug("certificates loaded", "certificates", len(t.pairs), "snis", len(t.snis))
	return nil
}

// acmeTLS1 is the ALPN protocol of the TLS-ALPN-01 challenge (RFC 8737).
const acmeTLS1 = "acme-tls/1"

// tagPrefix tags the certmagic cache entries of certificate entities.
const tagPrefix = "skyport-certificate:"

// uncache removes the entries of drop that keep does not hold.
func (m *Manager) uncache(drop, keep map[string]bool) {
	var gone []string
	for h := range drop {
		if !keep[h] {
			gone = append(gone, h)
		}
	}
	if len(gone) > 0 {
		m.cache.Remove(gone)
	}
}

// GetCertificate selects the certificate for a handshake: an ACME
// challenge's, else the SNI's (exact, then wildcard), else an on-demand
// one for a name the policy allows, else the default certificate.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if m.acme != nil && len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmeTLS1 {
		return m.magic.GetCertificate(hello)
	}
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	t := m.cur.Load()
	if p := t.lookup(name); p != nil {
		return p.pick(hello), nil
	}
	if m.acme != nil && name != "" && m.allowed(name) == nil {
		c, err := m.magic.GetCertificate(hello)
		if err == nil {
			return c, nil
		}
		m.log.Warn("on-demand certificate unavailable; serving the default", "server_name", name, "error", err)
	}
	return m.def, nil
}
