package model

import (
	"fmt"
	"strconv"
	"strings"
)

// Upstream and target rules (kong/db/schema/entities/upstreams.lua and
// targets.lua).

var (
	hashOnValues     = []string{"none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"}
	healthcheckTypes = []string{"tcp", "http", "https", "grpc", "grpcs"}
)

// Normalize implements Entity. The name is kept as given: services
// name it as their host, and the Admin API finds it by it.
func (u *Upstream) Normalize() {}

// Validate implements Entity.
func (u *Upstream) Validate() error {
	f := FieldErrors{}
	checkBase(f, &u.Base)
	if checkRequired(f, "name", u.Name) && !validHostname(u.Name) {
		f.Add("name", "Invalid name ('"+u.Name+"'); must be a valid hostname")
	}
	checkOneOf(f, "algorithm", u.Algorithm, "consistent-hashing", "least-connections", "round-robin", "latency")
	checkOneOf(f, "hash_on", u.HashOn, hashOnValues...)
	checkOneOf(f, "hash_fallback", u.HashFallback, hashOnValues...)
	u.checkHashFields(f)
	if !strings.HasPrefix(u.HashOnCookiePath, "/") {
		f.Add("hash_on_cookie_path", "should start with: /")
	}
	checkBetween(f, "slots", u.Slots, 10, 65536)
	if u.ClientCertificate != nil {
		checkRef(f, "client_certificate", u.ClientCertificate)
	}
	u.Healthchecks.check(f)
	return f.Err()
}

// checkHashFields enforces the fields each hash_on and hash_fallback
// value depends on.
func (u *Upstream) checkHashFields(f FieldErrors) {
	need := func(field string, v *string) {
		if v == nil || *v == "" {
			f.Add(field, msgRequired)
		}
	}
	for _, h := range []struct {
		prefix, value string
		header, query *string
		capture       *string
	}{
		{"hash_on", u.HashOn, u.HashOnHeader, u.HashOnQueryArg, u.HashOnURICapture},
		{"hash_fallback", u.HashFallback, u.HashFallbackHeader, u.HashFallbackQueryArg, u.HashFallbackURICapture},
	} {
		switch h.value {
		case "header":
			need(h.prefix+"_header", h.header)
		case "query_arg":
			need(h.prefix+"_query_arg", h.query)
		case "uri_capture":
			need(h.prefix+"_uri_capture", h.capture)
		case "cookie":
			need("hash_on_cookie", u.HashOnCookie)
		}
	}
	if (u.HashOn == "none" || u.HashOn == "cookie") && u.HashFallback != "none" {
		f.Add("hash_fallback", "expected one of: none")
	}
	if u.HashOn != "none" && u.HashOn == u.HashFallback && u.HashOn != "header" &&
		u.HashOn != "query_arg" && u.HashOn != "uri_capture" {
		f.Add("@entity", "values of these fields must be distinct: 'hash_on', 'hash_fallback'")
	}
}

func (h *Healthchecks) check(f FieldErrors) {
	const p = "healthchecks."
	a := &h.Active
	checkOneOf(f, p+"active.type", a.Type, healthcheckTypes...)
	if a.Timeout < 0 || a.Timeout > 65535 {
		f.Add(p+"active.timeout", "value should be between 0 and 65535")
	}
	checkBetween(f, p+"active.concurrency", a.Concurrency, 1, 2147483648)
	if !strings.HasPrefix(a.HTTPPath, "/") {
		f.Add(p+"active.http_path", "should start with: /")
	}
	for _, iv := range []struct {
		field string
		v     float64
	}{{"active.healthy.interval", a.Healthy.Interval}, {"active.unhealthy.interval", a.Unhealthy.Interval}} {
		if iv.v < 0 || iv.v > 65535 {
			f.Add(p+iv.field, "value should be between 0 and 65535")
		}
	}
	counters := map[string]int{
		"active.healthy.successes": a.Healthy.Successes, "active.unhealthy.tcp_failures": a.Unhealthy.TCPFailures,
		"active.unhealthy.timeouts": a.Unhealthy.Timeouts, "active.unhealthy.http_failures": a.Unhealthy.HTTPFailures,
		"passive.healthy.successes": h.Passive.Healthy.Successes, "passive.unhealthy.tcp_failures": h.Passive.Unhealthy.TCPFailures,
		"passive.unhealthy.timeouts": h.Passive.Unhealthy.Timeouts, "passive.unhealthy.http_failures": h.Passive.Unhealthy.HTTPFailures,
	}
	for field, v := range counters {
		checkBetween(f, p+field, v, 0, 255)
	}
	statuses := map[string][]int{
		"active.healthy.http_statuses": a.Healthy.HTTPStatuses, "active.unhealthy.http_statuses": a.Unhealthy.HTTPStatuses,
		"passive.healthy.http_statuses": h.Passive.Healthy.HTTPStatuses, "passive.unhealthy.http_statuses": h.Passive.Unhealthy.HTTPStatuses,
	}
	for field, list := range statuses {
		for i, s := range list {
			checkBetween(f, fmt.Sprintf("%s%s.%d", p, field, i+1), s, 100, 999)
		}
	}
	checkOneOf(f, p+"passive.type", h.Passive.Type, healthcheckTypes...)
	if h.Threshold < 0 || h.Threshold > 100 {
		f.Add(p+"threshold", "value should be between 0 and 100")
	}
}

// DefaultTargetPort is the port a target without one gets.
const DefaultTargetPort = 8000

// Normalize implements Entity: a target without a port gets
// DefaultTargetPort, and a bare IPv6 address is bracketed.
func (t *Target) Normalize() {
	host, port, ok := splitHostPort(t.Target)
	if !ok || host == "" {
		return
	}
	if port < 0 {
		port = DefaultTargetPort
	}
	t.Target = strings.ToLower(host) + ":" + strconv.Itoa(port)
}

// Validate implements Entity.
func (t *Target) Validate() error {
	f := FieldErrors{}
	checkBase(f, &t.Base)
	if checkRequired(f, "target", t.Target) {
		host, port, ok := splitHostPort(t.Target)
		switch {
		case !ok || !validHostname(host):
			f.Add("target", "Invalid target ('"+t.Target+"'); not a valid hostname or ip address")
		case port > 65535:
			f.Add("target", "Invalid target ('"+t.Target+"'); value should be between 0 and 65535")
		}
	}
	checkBetween(f, "weight", t.Weight, 0, 65535)
	checkRef(f, "upstream", t.Upstream)
	return f.Err()
}
