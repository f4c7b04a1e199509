package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"time"
)

// checkCluster checks the cluster listener's flags.
func (o *localOptions) checkCluster() error {
	if (o.ClusterCert == "") != (o.ClusterCertKey == "") {
		return fmt.Errorf("--cluster-cert and --cluster-cert-key go together")
	}
	if o.ClusterMaxNodes < 1 {
		return fmt.Errorf("--cluster-max-nodes %d: want at least 1", o.ClusterMaxNodes)
	}
	if o.ClusterAdvertise != "" {
		host, port, err := net.SplitHostPort(o.ClusterAdvertise)
		if err != nil || host == "" || port == "" || unspecified(host) {
			return fmt.Errorf("--cluster-advertise %q: want host:port, the address data planes dial", o.ClusterAdvertise)
		}
		return nil
	}
	if host, _, err := net.SplitHostPort(o.ClusterListen); err == nil && unspecified(host) && o.Backend == "embedded" {
		return fmt.Errorf("--cluster-listen %s listens on every interface: set --cluster-advertise to the host:port data planes dial (snapshot downloads point there)", o.ClusterListen)
	}
	return nil
}

// unspecified reports whether a listen host means every interface.
func unspecified(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// clusterListener is the cluster listener as data planes see it: its
// socket (TLS with --cluster-cert), a loopback address to reach it from
// this process, and the address data planes dial.
type clusterListener struct {
	listener   net.Listener
	local      string
	advertised string
	// roots trusts the listener's certificate besides the system's
	// roots; nil without TLS.
	roots *x509.CertPool
}

// newClusterListener wraps ln in TLS when --cluster-cert is set.
func newClusterListener(o *localOptions, ln net.Listener) (*clusterListener, error) {
	cl := &clusterListener{listener: ln, local: dialable(ln.Addr()), advertised: o.ClusterAdvertise}
	if cl.advertised == "" {
		cl.advertised = cl.local
	}
	if o.ClusterCert == "" {
		return cl, nil
	}
	cert, err := tls.LoadX509KeyPair(o.ClusterCert, o.ClusterCertKey)
	if err != nil {
		return nil, fmt.Errorf("--cluster-cert: %w", err)
	}
	if cl.roots, err = trustPool(o.ClusterCert); err != nil {
		return nil, fmt.Errorf("--cluster-cert: %w", err)
	}
	cl.listener = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	return cl, nil
}

// baseURL is the listener's http(s) URL as data planes reach it: the base
// of presigned snapshot downloads and of the @connections API.
func (cl *clusterListener) baseURL() string {
	if cl.roots != nil {
		return "https://" + cl.advertised
	}
	return "http://" + cl.advertised
}

// wsURL is the --cp-url data planes use.
func (cl *clusterListener) wsURL() string {
	if cl.roots != nil {
		return "wss://" + cl.advertised
	}
	return "ws://" + cl.advertised
}

// client is the HTTP client this process uses to reach its own cluster
// listener (the built-in data plane): the advertised address is dialled
// over loopback, where the listener is sure to answer, and its
// certificate is trusted besides the system's roots. Other hosts (S3 for
// presigned downloads with --backend aws) are reached as usual.
func (cl *clusterListener) client() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == cl.advertised {
			addr = cl.local
		}
		return dialer.DialContext(ctx, network, addr)
	}
	if cl.roots != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: cl.roots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t, Timeout: 2 * time.Minute}
}
