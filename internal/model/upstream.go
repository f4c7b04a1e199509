package model

// Upstream is a virtual host name that load-balances over targets.
type Upstream struct {
	Base
	// Name is the virtual host name services use as their host; unique.
	Name string `json:"name"`
	// Algorithm is round-robin (default), consistent-hashing, least-connections
	// or latency.
	Algorithm string `json:"algorithm"`
	// HashOn is none, consumer, ip, header, cookie, path, query_arg or
	// uri_capture; HashFallback is used when HashOn yields nothing.
	HashOn                 string  `json:"hash_on"`
	HashFallback           string  `json:"hash_fallback"`
	HashOnHeader           *string `json:"hash_on_header"`
	HashFallbackHeader     *string `json:"hash_fallback_header"`
	HashOnCookie           *string `json:"hash_on_cookie"`
	HashOnCookiePath       string  `json:"hash_on_cookie_path"`
	HashOnQueryArg         *string `json:"hash_on_query_arg"`
	HashFallbackQueryArg   *string `json:"hash_fallback_query_arg"`
	HashOnURICapture       *string `json:"hash_on_uri_capture"`
	HashFallbackURICapture *string `json:"hash_fallback_uri_capture"`
	// Slots is the size of the consistent-hashing ring; default 10000.
	Slots int `json:"slots"`
	// Healthchecks configures active and passive health checking.
	Healthchecks Healthchecks `json:"healthchecks"`
	// HostHeader overrides the Host header sent to targets.
	HostHeader *string `json:"host_header"`
	// ClientCertificate is presented to targets (mTLS).
	ClientCertificate *Ref `json:"client_certificate"`
	// UseSRVName sets the SNI to the SRV record's name.
	UseSRVName bool `json:"use_srv_name"`
}

// Healthchecks is Kong's upstream healthchecks record.
type Healthchecks struct {
	Active  ActiveHealthcheck  `json:"active"`
	Passive PassiveHealthcheck `json:"passive"`
	// Threshold is the minimum healthy weight percentage for the upstream
	// to be considered healthy; default 0.
	Threshold float64 `json:"threshold"`
}

// ActiveHealthcheck probes targets periodically.
type ActiveHealthcheck struct {
	// Type is http (default), https, tcp, grpc or grpcs.
	Type string `json:"type"`
	// Timeout of a probe in seconds; default 1.
	Timeout float64 `json:"timeout"`
	// Concurrency is the number of targets probed at once; default 10.
	Concurrency int `json:"concurrency"`
	// HTTPPath is probed with GET; default "/".
	HTTPPath               string              `json:"http_path"`
	HTTPSVerifyCertificate bool                `json:"https_verify_certificate"`
	HTTPSSNI               *string             `json:"https_sni"`
	Headers                map[string][]string `json:"headers"`
	Healthy                ActiveHealthy       `json:"healthy"`
	Unhealthy              ActiveUnhealthy     `json:"unhealthy"`
}

// ActiveHealthy says when an active probe counts a target healthy.
// Interval 0 disables probing of healthy targets.
type ActiveHealthy struct {
	Interval     float64 `json:"interval"`
	HTTPStatuses []int   `json:"http_statuses"`
	Successes    int     `json:"successes"`
}

// ActiveUnhealthy says when an active probe counts a target unhealthy.
type ActiveUnhealthy struct {
	Interval     float64 `json:"interval"`
	HTTPStatuses []int   `json:"http_statuses"`
	TCPFailures  int     `json:"tcp_failures"`
	Timeouts     int     `json:"timeouts"`
	HTTPFailures int     `json:"http_failures"`
}

// PassiveHealthcheck watches proxied traffic.
type PassiveHealthcheck struct {
	Type      string           `json:"type"`
	Healthy   PassiveHealthy   `json:"healthy"`
	Unhealthy PassiveUnhealthy `json:"unhealthy"`
}

// PassiveHealthy says which proxied responses count as successes.
type PassiveHealthy struct {
	HTTPStatuses []int `json:"http_statuses"`
	Successes    int   `json:"successes"`
}

// PassiveUnhealthy says which proxied outcomes count as failures.
type PassiveUnhealthy struct {
	HTTPStatuses []int `json:"http_statuses"`
	TCPFailures  int   `json:"tcp_failures"`
	Timeouts     int   `json:"timeouts"`
	HTTPFailures int   `json:"http_failures"`
}

// NewUpstream returns an upstream with Kong's defaults.
func NewUpstream() *Upstream {
	return &Upstream{
		Algorithm: "round-robin", HashOn: "none", HashFallback: "none",
		HashOnCookiePath: "/", Slots: 10000,
		Healthchecks: Healthchecks{
			Active: ActiveHealthcheck{
				Type: "http", Timeout: 1, Concurrency: 10, HTTPPath: "/",
				HTTPSVerifyCertificate: true,
				Healthy:                ActiveHealthy{HTTPStatuses: []int{200, 302}},
				Unhealthy: ActiveUnhealthy{
					HTTPStatuses: []int{429, 404, 500, 501, 502, 503, 504, 505},
				},
			},
			Passive: PassiveHealthcheck{
				Type: "http",
				Healthy: PassiveHealthy{HTTPStatuses: []int{200, 201, 202, 203, 204, 205,
					206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308}},
				Unhealthy: PassiveUnhealthy{HTTPStatuses: []int{429, 500, 503}},
			},
		},
	}
}

// Kind implements Entity.
func (*Upstream) Kind() Kind { return KindUpstream }

// References implements Entity.
func (u *Upstream) References() []Reference {
	return refs("client_certificate", KindCertificate, u.ClientCertificate)
}

// UniqueKeys implements Entity.
func (u *Upstream) UniqueKeys() []UniqueKey { return uniques("name", u.Name) }

// Target is one backend address of an upstream.
type Target struct {
	Base
	// Target is host:port or ip:port; the port defaults to 8000.
	Target string `json:"target"`
	// Weight is the share of traffic, 0 to 65535; default 100; 0 disables.
	Weight int `json:"weight"`
	// Upstream is the upstream the target belongs to.
	Upstream *Ref `json:"upstream"`
}

// NewTarget returns a target with Kong's defaults.
func NewTarget() *Target { return &Target{Weight: 100} }

// Kind implements Entity.
func (*Target) Kind() Kind { return KindTarget }

// References implements Entity.
func (t *Target) References() []Reference { return refs("upstream", KindUpstream, t.Upstream) }

// UniqueKeys implements Entity: a target is unique within its upstream.
func (t *Target) UniqueKeys() []UniqueKey {
	if t.Upstream == nil {
		return nil
	}
	return uniques("target", t.Upstream.ID+":"+t.Target)
}
