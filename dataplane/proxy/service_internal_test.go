package proxy

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/upstream"
	"github.com/skyport-gw/skyport/internal/model"
)

// An IPv6 literal goes in the Host header in brackets, with or without
// its port (RFC 9110 §7.2 and RFC 3986's IP-literal), for a service's
// host and for an upstream's target alike.
func TestHostHeaderIPv6(t *testing.T) {
	tests := []struct {
		name, protocol, host string
		port                 int
		want, wantPort       string
	}{
		{"name, default port", "http", "svc.test", 80, "svc.test", "svc.test:80"},
		{"name, other port", "http", "svc.test", 81, "svc.test:81", "svc.test:81"},
		{"IPv4, default port", "https", "192.0.2.1", 443, "192.0.2.1", "192.0.2.1:443"},
		{"IPv6, default port", "http", "::1", 80, "[::1]", "[::1]:80"},
		{"IPv6, https default port", "https", "2001:db8::1", 443, "[2001:db8::1]", "[2001:db8::1]:443"},
		{"IPv6, other port", "http", "::1", 81, "[::1]:81", "[::1]:81"},
		{"IPv6, no port", "http", "::1", 0, "[::1]", "[::1]:80"},
		// A service's host may be given bracketed (model's validHostname).
		{"IPv6 bracketed, default port", "http", "[::1]", 80, "[::1]", "[::1]:80"},
		{"IPv6 bracketed, other port", "https", "[2001:db8::1]", 444, "[2001:db8::1]:444", "[2001:db8::1]:444"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &model.Service{Protocol: tt.protocol, Host: tt.host, Port: tt.port}
			m.ID = "a0000000-0000-4000-a000-000000000001"
			svc, err := compileService(m, map[string]*upstream.Pool{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if svc.hostHeader != tt.want || svc.hostPort != tt.wantPort {
				t.Errorf("service: Host %q, address %q; want %q, %q", svc.hostHeader, svc.hostPort, tt.want, tt.wantPort)
			}
			port := tt.port
			if port == 0 {
				port = defaultPort(svc.scheme)
			}
			if got := svc.targetHost(&upstream.Target{Host: strings.Trim(tt.host, "[]"), Port: port}); got != tt.want {
				t.Errorf("target: Host %q, want %q", got, tt.want)
			}
		})
	}
}

// An attempt to a service without an upstream records the host and port
// of its address (dialed), what splitting the address gives, without
// splitting it per request; an address SplitHostPort refuses is split
// (and recorded whole) as before.
func TestServiceDialed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, protocol, host string
		port                 int
		ok                   bool
	}{
		{"name", "http", "svc.test", 8080, true},
		{"name, no port", "http", "svc.test", 0, true},
		{"name, https, no port", "https", "svc.test", 0, true},
		{"IPv4", "http", "192.0.2.1", 81, true},
		{"IPv6", "http", "2001:db8::1", 81, true},
		{"IPv6 bracketed", "https", "[::1]", 0, true},
		{"IPv6 with a zone", "http", "fe80::1%eth0", 82, true},
		{"a bracket inside", "http", "a]b", 83, false},
		{"one bracket", "http", "[::1", 84, false},
		{"two colons in brackets", "http", "[a:b]:c", 85, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			m := &model.Service{Protocol: tt.protocol, Host: tt.host, Port: tt.port}
			m.ID = "a0000000-0000-4000-a000-000000000002"
			svc, err := compileService(m, map[string]*upstream.Pool{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			host, port, ok := svc.dialed()
			if ok != tt.ok {
				t.Fatalf("dialed ok %v, want %v", ok, tt.ok)
			}
			ex := &exchange{svc: svc, tries: []plugin.Try{{}}}
			ex.endTry(0, svc.hostPort)
			wantHost, p, err := net.SplitHostPort(svc.hostPort)
			wantPort, _ := strconv.Atoi(p)
			if err != nil {
				wantHost, wantPort = svc.hostPort, 0
			}
			if ok && (host != wantHost || port != wantPort) {
				t.Errorf("dialed %q %d; SplitHostPort %q %d", host, port, wantHost, wantPort)
			}
			if got := ex.tries[0]; got.IP != wantHost || got.Port != wantPort {
				t.Errorf("try %q %d; want %q %d", got.IP, got.Port, wantHost, wantPort)
			}
		})
	}
}

// The compiled service stays in its size class: a hundred thousand of
// them are compiled for a big configuration.
func TestServiceSize(t *testing.T) {
	t.Parallel()
	if n := unsafe.Sizeof(service{}); n > 160 {
		t.Errorf("service is %d bytes, past the 160-byte size class", n)
	}
}
