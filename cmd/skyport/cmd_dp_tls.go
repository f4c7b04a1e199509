package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/skyport-gw/skyport/dataplane/certs"
)

// tlsFlags are the data plane's TLS settings: the default certificate and
// on-demand ACME.
type tlsFlags struct {
	SSLCert       string
	SSLCertKey    string
	ACMEEmail     string
	ACMECA        string
	ACMECARoot    string
	ACMEStorage   string
	ACMEPerMinute int
}

// register adds the TLS flags to fs.
func (o *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.SSLCert, "ssl-cert", "", "PEM file of the certificate served when no SNI matches (default: a self-signed one generated once into --cache-dir)")
	fs.StringVar(&o.SSLCertKey, "ssl-cert-key", "", "PEM file of --ssl-cert's key")
	fs.StringVar(&o.ACMEEmail, "acme-email", "", "ACME account contact; with it (or --acme-ca) certificates are obtained on demand for route hosts no certificate covers")
	fs.StringVar(&o.ACMECA, "acme-ca", "", "ACME directory URL (default: Let's Encrypt)")
	fs.StringVar(&o.ACMECARoot, "acme-ca-root", "", "PEM file of the roots trusted for the ACME directory's HTTPS (a private or test CA)")
	fs.StringVar(&o.ACMEStorage, "acme-storage", "", "s3://bucket/prefix or file:///dir holding ACME accounts, certificates and locks, shared by data planes (default: --cache-dir)")
	fs.IntVar(&o.ACMEPerMinute, "acme-per-minute", 10, "on-demand certificate issuances allowed per minute")
}

// newCertManager builds the certificate manager of a data plane.
func newCertManager(ctx context.Context, o *dpOptions, log *slog.Logger) (*certs.Manager, error) {
	opts := certs.Options{CacheDir: o.CacheDir, Log: log}
	if (o.SSLCert == "") != (o.SSLCertKey == "") {
		return nil, fmt.Errorf("--ssl-cert and --ssl-cert-key go together")
	}
	if o.SSLCert != "" {
		var err error
		if opts.DefaultCert, err = os.ReadFile(o.SSLCert); err != nil {
			return nil, fmt.Errorf("--ssl-cert: %w", err)
		}
		if opts.DefaultKey, err = os.ReadFile(o.SSLCertKey); err != nil {
			return nil, fmt.Errorf("--ssl-cert-key: %w", err)
		}
	}
	if o.ACMEEmail != "" || o.ACMECA != "" {
		a, err := acmeOptions(ctx, o)
		if err != nil {
			return nil, err
		}
		opts.ACME = a
	}
	return certs.New(opts)
}

// acmeOptions reads the --acme-* flags. The challenges are answered on
// the proxy's own listeners: certmagic finds their ports taken and relies
// on the proxy's handlers.
func acmeOptions(ctx context.Context, o *dpOptions) (*certs.ACMEOptions, error) {
	host, _, _ := net.SplitHostPort(o.ProxyListen)
	a := &certs.ACMEOptions{Email: o.ACMEEmail, CA: o.ACMECA, PerMinute: o.ACMEPerMinute, ListenHost: host,
		AltHTTPPort: listenPort(o.ProxyListen), AltTLSALPNPort: listenPort(o.ProxyTLSListen)}
	if o.ACMECARoot != "" {
		data, err := os.ReadFile(o.ACMECARoot)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-root: %w", err)
		}
		a.TrustedRoots = x509.NewCertPool()
		if !a.TrustedRoots.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("--acme-ca-root %s: no PEM certificate", o.ACMECARoot)
		}
	}
	if o.ACMEStorage != "" {
		store, err := fallbackStore(ctx, o.ACMEStorage)
		if err != nil {
			return nil, fmt.Errorf("--acme-storage: %w", err)
		}
		a.Store = store
	} else if o.CacheDir == "" {
		return nil, fmt.Errorf("on-demand certificates need --acme-storage or --cache-dir")
	}
	return a, nil
}

// listenPort is the port of a listen address, 0 when it has none.
func listenPort(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
