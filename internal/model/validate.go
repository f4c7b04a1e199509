package model

import (
	"net/url"
	"strconv"
	"strings"
)

// Service rules (kong/db/schema/entities/services.lua).

// serviceProtocols are the protocols a service may speak.
var serviceProtocols = []string{"grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"}

// Normalize implements Entity: it expands the url shorthand into protocol,
// host, port and path (port 80 for http and ws, 443 for https and wss when
// the url has none) and clears URL. A url that cannot be parsed is kept,
// so that Validate reports it.
func (s *Service) Normalize() {
	if s.URL == "" {
		return
	}
	u, err := url.Parse(s.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return
	}
	s.Protocol = strings.ToLower(u.Scheme)
	s.Host = u.Hostname()
	switch p := u.Port(); {
	case p != "":
		n, err := strconv.Atoi(p)
		if err != nil {
			return
		}
		s.Port = n
	case s.Protocol == "https" || s.Protocol == "wss" || s.Protocol == "grpcs" || s.Protocol == "tls":
		s.Port = 443
	default:
		s.Port = 80
	}
	s.Path = nil
	if u.EscapedPath() != "" {
		s.Path = String(u.EscapedPath())
	}
	s.URL = ""
}

// Validate implements Entity.
func (s *Service) Validate() error {
	f := FieldErrors{}
	checkBase(f, &s.Base)
	checkName(f, "name", s.Name)
	if s.URL != "" {
		f.Add("url", "missing host in url")
	}
	checkOneOf(f, "protocol", s.Protocol, serviceProtocols...)
	if checkRequired(f, "host", s.Host) && !validHostname(s.Host) {
		f.Add("host", "invalid value: "+s.Host)
	}
	checkBetween(f, "port", s.Port, 0, 65535)
	checkBetween(f, "retries", s.Retries, 0, 32767)
	checkBetween(f, "connect_timeout", s.ConnectTimeout, 1, 2147483646)
	checkBetween(f, "write_timeout", s.WriteTimeout, 1, 2147483646)
	checkBetween(f, "read_timeout", s.ReadTimeout, 1, 2147483646)
	if s.Path != nil {
		switch p := *s.Path; {
		case !strings.HasPrefix(p, "/"):
			f.Add("path", "should start with: /")
		case strings.Contains(p, "//"):
			f.Add("path", "must not have empty segments")
		case s.Protocol != "http" && s.Protocol != "https" && s.Protocol != "ws" && s.Protocol != "wss":
			f.Add("path", "value must be null")
		}
	}
	if s.TLSVerifyDepth != nil {
		checkBetween(f, "tls_verify_depth", *s.TLSVerifyDepth, 0, 64)
	}
	for i, id := range s.CACertificates {
		if !validUUID(id) {
			f.Add("ca_certificates."+strconv.Itoa(i+1), msgUUID)
		}
	}
	if s.ClientCertificate != nil {
		checkRef(f, "client_certificate", s.ClientCertificate)
	}
	return f.Err()
}
