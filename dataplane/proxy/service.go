package proxy

import (
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/skyport-gw/skyport/dataplane/upstream"
	"github.com/skyport-gw/skyport/internal/label"
	"github.com/skyport-gw/skyport/internal/model"
)

// service is one service compiled for proxying.
type service struct {
	m *model.Service
	// label names the service in logs and metrics: its name, else its id.
	label string
	// scheme is http or https (ws and grpc, wss and grpcs map to them).
	scheme string
	// grpc: the upstream speaks gRPC, so HTTP/2 only (h2c for grpc).
	// verify (below) and idleClosed (at the end) sit in the same word:
	// the struct then fills a 160-byte size class, not 176.
	grpc bool
	// verify says whether the default TLS configuration verifies the
	// upstream (see tls).
	verify bool
	// port is hostPort's port, what net.SplitHostPort gives of it, 0 when
	// it does not split (see dialed). It fills two bytes the struct had
	// free before idleClosed.
	port uint16
	// idleClosed says closeIdle ran: a client made after it keeps no
	// connection (see client).
	idleClosed atomic.Bool
	// hostPort is the URL host; hostHeader the Host header sent when the
	// route does not preserve the client's; sni the TLS server name.
	hostPort, hostHeader, sni string
	// base is the service's path, "/" when unset.
	base string
	// pool is the upstream the host names, nil when the host is dialled.
	pool *upstream.Pool
	// hostOverride is the upstream's host_header, "" when unset.
	hostOverride string
	// tls is the TLS client configuration the configuration's
	// certificates gave (Options.UpstreamTLS), nil for the default one,
	// which tlsConfig builds with the transport (verify says whether it
	// verifies the upstream): of a hundred thousand services most never
	// dial, and a tls.Config is half a kilobyte.
	tls *tls.Config
	// transport is built on first use (roundTripper): of a hundred
	// thousand services most may never be called between two applies,
	// and each transport costs a few kilobytes.
	transport atomic.Pointer[http.Transport]
	// client sends the service's HTTP/1.1 requests (see h1Client), over
	// TLS for https services; none for gRPC services. It is made on first
	// use (h1), as the transport is: a client and its dial function are
	// about 200 bytes, ten megabytes for fifty thousand services that
	// mostly never send.
	client atomic.Pointer[h1Client]
}

// compileService compiles m; it returns nil for a stream service (tcp,
// tls, udp), which the HTTP proxy does not serve.
// tc, when not nil, is the service's TLS client configuration.
func compileService(m *model.Service, pools map[string]*upstream.Pool, tc *tls.Config) (*service, error) {
	svc := &service{m: m, label: label.Of(m.Name, m.ID), base: "/"}
	switch m.Protocol {
	case "http", "ws", "grpc", "":
		svc.scheme = "http"
	case "https", "wss", "grpcs":
		svc.scheme = "https"
	case "tcp", "tls", "udp", "tls_passthrough":
		return nil, nil // a stream service: not proxied over HTTP
	default:
		return nil, fmt.Errorf("service %s: unknown protocol %q", svc.label, m.Protocol)
	}
	if m.Host == "" {
		return nil, fmt.Errorf("service %s: no host", svc.label)
	}
	if m.Path != nil && *m.Path != "" {
		svc.base = *m.Path
	}
	port := m.Port
	if port == 0 {
		port = defaultPort(svc.scheme)
	}
	svc.pool = pools[m.Host]
	// An IPv6 literal may be given in brackets (model's validHostname);
	// JoinHostPort brackets it.
	host := m.Host
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	svc.hostPort = net.JoinHostPort(host, strconv.Itoa(port))
	if _, p, err := net.SplitHostPort(svc.hostPort); err == nil {
		if n, err := strconv.Atoi(p); err == nil && n > 0 && n <= math.MaxUint16 {
			svc.port = uint16(n)
		}
	}
	// hostWithPort's, sharing hostPort's bytes: the host alone (an IPv6
	// literal in brackets) on the scheme's default port.
	svc.hostHeader = svc.hostPort
	if port == defaultPort(svc.scheme) {
		svc.hostHeader = svc.hostPort[:strings.LastIndexByte(svc.hostPort, ':')]
	}
	if svc.pool == nil {
		svc.sni = host
	} else {
		if h := svc.pool.HostHeader(); h != "" {
			svc.hostOverride, svc.sni = h, h
		}
	}
	svc.tls = tc
	svc.verify = m.TLSVerify != nil && *m.TLSVerify
	svc.grpc = m.Protocol == "grpc" || m.Protocol == "grpcs"
	return svc, nil
}

// dialed returns what net.SplitHostPort and strconv.Atoi give of the
// service's address (hostPort), split once when the service was compiled
// (port): an attempt records them per request (endTry). false when it
// did not split; the caller splits then, as before.
func (svc *service) dialed() (host string, port int, ok bool) {
	if svc.port == 0 {
		return "", 0, false
	}
	host = svc.hostPort[:strings.LastIndexByte(svc.hostPort, ':')]
	if strings.HasPrefix(host, "[") {
		host = host[1 : len(host)-1]
	}
	return host, int(svc.port), true
}

// h1 returns the client that sends the service's HTTP/1.1 requests,
// made on first use; nil for a gRPC service.
func (svc *service) h1() *h1Client {
	if svc.grpc {
		return nil
	}
	if c := svc.client.Load(); c != nil {
		return c
	}
	dial := newDialer(svc)
	if svc.scheme == "https" {
		dial = newTLSDialer(svc, dial)
	}
	c := newH1Client(svc.scheme, dial)
	if svc.pool == nil {
		// Every request goes to hostPort.
		c.setHome(svc.hostPort)
	}
	if svc.scheme == "http" {
		c.ownDial = newOwnDialer(svc)
	}
	if !svc.client.CompareAndSwap(nil, c) {
		return svc.client.Load()
	}
	// closeIdle sets idleClosed before it looks for a client: either it
	// saw this one or this sees its mark.
	if svc.idleClosed.Load() {
		c.CloseIdleConnections()
	}
	return c
}

// roundTripper returns the service's transport, built on first use.
func (svc *service) roundTripper() *http.Transport {
	if t := svc.transport.Load(); t != nil {
		return t
	}
	t := newTransport(svc)
	if !svc.transport.CompareAndSwap(nil, t) {
		return svc.transport.Load()
	}
	return t
}

// tlsConfig returns a copy of the service's TLS client configuration.
func (svc *service) tlsConfig() *tls.Config {
	if svc.tls != nil {
		return svc.tls.Clone()
	}
	return &tls.Config{InsecureSkipVerify: !svc.verify, ServerName: svc.sni} //nolint:gosec // Kong verifies upstreams only with tls_verify
}

// closeIdle closes the service's idle upstream connections.
func (svc *service) closeIdle() {
	if t := svc.transport.Load(); t != nil {
		t.CloseIdleConnections()
	}
	svc.idleClosed.Store(true)
	if c := svc.client.Load(); c != nil {
		c.CloseIdleConnections()
	}
}

// targetHost is the Host header for a target of the service's upstream:
// the upstream's host_header, else the target's host (with its port when
// not the scheme's default), as Kong sends it.
func (svc *service) targetHost(t *upstream.Target) string {
	if svc.hostOverride != "" {
		return svc.hostOverride
	}
	return hostWithPort(t.Host, t.Port, svc.scheme)
}

// hostWithPort is a Host header's value: host with its port when the
// port is not the scheme's default, an IPv6 literal in brackets.
func hostWithPort(host string, port int, scheme string) string {
	if port == defaultPort(scheme) {
		if strings.IndexByte(host, ':') >= 0 {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func defaultPort(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}
