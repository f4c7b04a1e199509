package certs

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// pair is one certificate entity ready to serve: its main key pair and
// the optional alternate (an ECDSA pair beside an RSA one).
type pair struct {
	id        string
	main, alt *tls.Certificate
}

// pick returns the alternate when the client cannot use the main pair.
func (p *pair) pick(hello *tls.ClientHelloInfo) *tls.Certificate {
	if p.alt != nil && hello.SupportsCertificate(p.main) != nil && hello.SupportsCertificate(p.alt) == nil {
		return p.alt
	}
	return p.main
}

// table is the certificates of one snapshot, indexed for the handshake:
// immutable once built.
type table struct {
	pairs map[string]*pair // by certificate id
	snis  map[string]*pair // by SNI name, "*.example.com" and "example.*" included
	hosts hostSet          // the routes' hosts, for the ACME policy
}

// buildTable parses every certificate of cfg and resolves its SNIs; any
// bad certificate or dangling SNI fails the whole table.
func buildTable(cfg *model.Config) (*table, error) {
	t := &table{pairs: map[string]*pair{}, snis: map[string]*pair{}}
	for _, c := range cfg.Certificates {
		p, err := parsePair(c)
		if err != nil {
			return nil, err
		}
		t.pairs[c.ID] = p
	}
	for _, s := range cfg.SNIs {
		if s.Certificate == nil || t.pairs[s.Certificate.ID] == nil {
			return nil, fmt.Errorf("sni %s: %w", s.Name, ErrUnknownCertificate)
		}
		t.snis[strings.ToLower(s.Name)] = t.pairs[s.Certificate.ID]
	}
	// The snis shorthand on a certificate fills in names no sni entity
	// claims.
	for _, c := range cfg.Certificates {
		for _, name := range c.SNIs {
			if n := strings.ToLower(name); t.snis[n] == nil {
				t.snis[n] = t.pairs[c.ID]
			}
		}
	}
	t.hosts = routeHosts(cfg.Routes)
	return t, nil
}

// parsePair parses a certificate entity; errors name the entity, never
// the key material.
func parsePair(c *model.Certificate) (*pair, error) {
	main, err := tls.X509KeyPair([]byte(c.Cert), []byte(c.Key))
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w: %w", c.ID, ErrBadCertificate, err)
	}
	p := &pair{id: c.ID, main: &main}
	if c.CertAlt != nil && *c.CertAlt != "" {
		if c.KeyAlt == nil {
			return nil, fmt.Errorf("certificate %s: cert_alt without key_alt: %w", c.ID, ErrBadCertificate)
		}
		alt, err := tls.X509KeyPair([]byte(*c.CertAlt), []byte(*c.KeyAlt))
		if err != nil {
			return nil, fmt.Errorf("certificate %s (alternate): %w: %w", c.ID, ErrBadCertificate, err)
		}
		p.alt = &alt
	}
	return p, nil
}

// lookup finds the certificate for a server name as Kong does: the exact
// name, then the name with its first label replaced by "*", then with its
// last label replaced by "*"; nil when none matches.
func (t *table) lookup(name string) *pair {
	if t == nil || name == "" {
		return nil
	}
	if p := t.snis[name]; p != nil {
		return p
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if p := t.snis["*"+name[i:]]; p != nil {
			return p
		}
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		if p := t.snis[name[:i]+".*"]; p != nil {
			return p
		}
	}
	return nil
}

// hostSet is the routes' hosts, without ports: exact names and the fixed
// parts of wildcards.
type hostSet struct {
	exact            map[string]bool
	suffixes, prefix []string // ".example.com" for "*.example.com"; "example." for "example.*"
}

func routeHosts(routes []*model.Route) hostSet {
	hs := hostSet{exact: map[string]bool{}}
	for _, r := range routes {
		for _, h := range r.Hosts {
			h = strings.ToLower(stripPort(h))
			switch {
			case strings.HasPrefix(h, "*"):
				hs.suffixes = append(hs.suffixes, h[1:])
			case strings.HasSuffix(h, "*"):
				hs.prefix = append(hs.prefix, h[:len(h)-1])
			case h != "":
				hs.exact[h] = true
			}
		}
	}
	return hs
}

// match says whether a route host names (or wildcards) name, with the
// router's semantics: "*.example.com" matches any name ending in
// ".example.com", "example.*" any name starting with "example.".
func (hs hostSet) match(name string) bool {
	if hs.exact[name] {
		return true
	}
	for _, s := range hs.suffixes {
		if len(name) > len(s) && strings.HasSuffix(name, s) {
			return true
		}
	}
	for _, p := range hs.prefix {
		if len(name) > len(p) && strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// stripPort drops a ":port" suffix from a route host.
func stripPort(h string) string {
	if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.Contains(h[i:], "]") && !strings.Contains(h[:i], ":") {
		return h[:i]
	}
	return h
}

// Check parses cfg's certificates and resolves its SNIs as Update does,
// without loading them anywhere: the error Update would refuse cfg with.
func Check(cfg *model.Config) error {
	if cfg == nil {
		return nil
	}
	if _, err := buildTable(cfg); err != nil {
		return fmt.Errorf("loading certificates: %w", err)
	}
	return nil
}
