package model

// Service is an upstream API or microservice (Kong's services entity).
type Service struct {
	Base
	// Name is optional and unique.
	Name *string `json:"name"`
	// URL is the shorthand that sets protocol, host, port and path at once.
	// It is input only: Normalize expands it and clears it.
	URL string `json:"url,omitempty"`
	// Retries is how many times a failed connection is retried; default 5.
	Retries int `json:"retries"`
	// Protocol is http, https, grpc, grpcs, tcp, tls, udp, ws or wss; default http.
	Protocol string `json:"protocol"`
	// Host is the upstream host name, IP, or the name of an upstream entity.
	Host string `json:"host"`
	// Port is the upstream port; default 80 (443 for https from a url).
	Port int `json:"port"`
	// Path is prepended to the proxied request's path.
	Path *string `json:"path"`
	// ConnectTimeout, WriteTimeout and ReadTimeout are in milliseconds; default 60000.
	ConnectTimeout int `json:"connect_timeout"`
	WriteTimeout   int `json:"write_timeout"`
	ReadTimeout    int `json:"read_timeout"`
	// TLSVerify enables verification of the upstream's certificate.
	TLSVerify *bool `json:"tls_verify"`
	// TLSVerifyDepth bounds the verified chain length.
	TLSVerifyDepth *int `json:"tls_verify_depth"`
	// CACertificates are ids of ca_certificates trusted for the upstream.
	CACertificates []string `json:"ca_certificates"`
	// ClientCertificate is the certificate presented to the upstream (mTLS).
	ClientCertificate *Ref `json:"client_certificate"`
	// Enabled false takes the service's routes out of the router; default true.
	Enabled bool `json:"enabled"`
}

// NewService returns a service with Kong's defaults.
func NewService() *Service {
	return &Service{Retries: 5, Protocol: "http", Port: 80,
		ConnectTimeout: 60000, WriteTimeout: 60000, ReadTimeout: 60000, Enabled: true}
}

// Kind implements Entity.
func (*Service) Kind() Kind { return KindService }

// References implements Entity.
func (s *Service) References() []Reference {
	out := refs("client_certificate", KindCertificate, s.ClientCertificate)
	for _, id := range s.CACertificates {
		out = append(out, Reference{Field: "ca_certificates", Kind: KindCACertificate, ID: id})
	}
	return out
}

// UniqueKeys implements Entity.
func (s *Service) UniqueKeys() []UniqueKey { return uniques("name", deref(s.Name)) }
