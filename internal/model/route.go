package model

// CIDRPort is a source or destination matcher of a stream route.
type CIDRPort struct {
	IP   string `json:"ip,omitempty"`
	Port int    `json:"port,omitempty"`
}

// Route is a set of matching rules that sends requests to a service.
type Route struct {
	Base
	// Name is optional and unique.
	Name *string `json:"name"`
	// Protocols the route accepts; default ["http","https"].
	Protocols []string `json:"protocols"`
	// Methods, Hosts, Paths, Headers and SNIs are the matching fields:
	// values within one field are ORed, fields are ANDed.
	Methods []string            `json:"methods"`
	Hosts   []string            `json:"hosts"`
	Paths   []string            `json:"paths"`
	Headers map[string][]string `json:"headers"`
	SNIs    []string            `json:"snis"`
	// Sources and Destinations match stream routes.
	Sources      []CIDRPort `json:"sources"`
	Destinations []CIDRPort `json:"destinations"`
	// StripPath removes the matched prefix before proxying; default true.
	StripPath bool `json:"strip_path"`
	// PreserveHost sends the client's Host header upstream; default false.
	PreserveHost bool `json:"preserve_host"`
	// RegexPriority orders regex paths; higher first.
	RegexPriority int `json:"regex_priority"`
	// PathHandling is v0 or v1; default v0.
	PathHandling string `json:"path_handling"`
	// HTTPSRedirectStatusCode answers plain-HTTP requests on https-only
	// routes; default 426.
	HTTPSRedirectStatusCode int `json:"https_redirect_status_code"`
	// RequestBuffering and ResponseBuffering default to true.
	RequestBuffering  bool `json:"request_buffering"`
	ResponseBuffering bool `json:"response_buffering"`
	// Service is the service the route proxies to.
	Service *Ref `json:"service"`
}

// NewRoute returns a route with Kong's defaults.
func NewRoute() *Route {
	return &Route{Protocols: []string{"http", "https"}, StripPath: true, PathHandling: "v0",
		HTTPSRedirectStatusCode: 426, RequestBuffering: true, ResponseBuffering: true}
}

// Kind implements Entity.
func (*Route) Kind() Kind { return KindRoute }

// References implements Entity.
func (r *Route) References() []Reference { return refs("service", KindService, r.Service) }

// UniqueKeys implements Entity.
func (r *Route) UniqueKeys() []UniqueKey { return uniques("name", deref(r.Name)) }
