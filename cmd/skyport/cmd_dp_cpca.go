package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

// cpHTTPClient is the client a data plane dials the control plane and
// downloads presigned snapshots with: the built-in data plane's own, a
// client that also trusts --cp-ca, or nil for the sync client's default.
func cpHTTPClient(o *dpOptions) (*http.Client, error) {
	if o.cpClient != nil {
		return o.cpClient, nil
	}
	if o.CPCA == "" {
		return nil, nil
	}
	roots, err := trustPool(o.CPCA)
	if err != nil {
		return nil, fmt.Errorf("--cp-ca: %w", err)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t, Timeout: 2 * time.Minute}, nil
}

// trustPool returns the system's roots plus the certificates of a PEM
// file (a private CA, or a self-signed certificate itself).
func trustPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New(file + ": no PEM certificate")
	}
	return pool, nil
}
