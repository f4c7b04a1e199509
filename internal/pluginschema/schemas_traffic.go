package pluginschema

import (
	"fmt"
	"net/netip"
	"strconv"
)

// The traffic-control and security plugins (kong/plugins/*/schema.lua).

// RateLimitPeriods are rate-limiting's window fields, shortest first.
var RateLimitPeriods = []string{"second", "minute", "hour", "day", "month", "year"}

// CORSMethods are cors's accepted (and default) methods.
var CORSMethods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

func init() {
	rl := []Field{}
	for _, p := range RateLimitPeriods {
		rl = append(rl, Field{Name: p, Type: "number", Between: []float64{0, 1e18}})
	}
	rl = append(rl,
		oneOfStrings("limit_by", "consumer", "consumer", "credential", "ip", "service", "header", "path"),
		str("header_name"),
		str("path"),
		oneOfStrings("policy", "local", "local", "cluster", "redis"),
		boolean("fault_tolerant", true),
		boolean("hide_client_headers", false),
		integer("error_code", float64(429), 0, 1e9),
		strDefault("error_message", "API rate limit exceeded"),
		integer("sync_rate", float64(-1)),
	)
	register(&Schema{Name: "rate-limiting", Priority: 910, Fields: rl, Check: checkRateLimiting})

	methods := stringList("array", "methods", CORSMethods...)
	methods.Elements.OneOf = methods.Default.([]any)
	register(&Schema{Name: "cors", NoConsumer: true, Priority: 2000, Check: checkCORS, Fields: []Field{
		stringList("array", "origins"),
		stringList("array", "headers"),
		stringList("array", "exposed_headers"),
		methods,
		number("max_age"),
		boolean("credentials", false),
		boolean("private_network", false),
		boolean("preflight_continue", false),
	}})

	register(&Schema{Name: "ip-restriction", Priority: 990, Fields: []Field{
		stringList("array", "allow"),
		stringList("array", "deny"),
		integer("status", nil, 100, 599),
		str("message"),
	}, Check: checkIPRestriction})

	register(&Schema{Name: "request-size-limiting", Priority: 951, Fields: []Field{
		integer("allowed_payload_size", float64(128), 0, 1e15),
		oneOfStrings("size_unit", "megabytes", "megabytes", "kilobytes", "bytes"),
		boolean("require_content_length", false),
	}})

	register(&Schema{Name: "request-termination", Priority: 2, Fields: []Field{
		integer("status_code", float64(503), 100, 599),
		str("message"),
		str("content_type"),
		str("body"),
		boolean("echo", false),
		str("trigger"),
	}, Check: checkTermination})
}

func checkRateLimiting(cfg map[string]any) map[string]string {
	if errs := atLeastOneOf(cfg, RateLimitPeriods...); errs != nil {
		return errs
	}
	var errs map[string]string
	if p, _ := cfg["policy"].(string); p != "local" {
		errs = merge(errs, map[string]string{"policy": fmt.Sprintf(
			"policy '%s' is not supported by this data plane (counters are kept per node): use 'local'", p)})
	}
	switch cfg["limit_by"] {
	case "header":
		if empty(cfg["header_name"]) {
			errs = merge(errs, map[string]string{"header_name": msgRequired})
		}
	case "path":
		if empty(cfg["path"]) {
			errs = merge(errs, map[string]string{"path": msgRequired})
		}
	}
	var prev string
	for _, p := range RateLimitPeriods {
		v, ok := cfg[p].(float64)
		if !ok {
			continue
		}
		if pv, ok := cfg[prev].(float64); ok && prev != "" && v < pv {
			errs = merge(errs, map[string]string{"@entity": fmt.Sprintf(
				"The limit for %s(%s) cannot be lower than the limit for %s(%s)", p, fmtNum(v), prev, fmtNum(pv))})
		}
		prev = p
	}
	return errs
}

func checkIPRestriction(cfg map[string]any) map[string]string {
	errs := atLeastOneOf(cfg, "allow", "deny")
	for _, name := range []string{"allow", "deny"} {
		list, _ := cfg[name].([]any)
		for i, v := range list {
			s, _ := v.(string)
			if _, err := ParseIPOrCIDR(s); err != nil {
				errs = merge(errs, map[string]string{name + "." + strconv.Itoa(i+1): "invalid ip or cidr range: '" + s + "'"})
			}
		}
	}
	return errs
}

// ParseIPOrCIDR parses "10.0.0.1" or "10.0.0.0/8" (IPv4 or IPv6) as a
// prefix; a single address is a full-length prefix.
func ParseIPOrCIDR(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parsing ip or cidr %q: %w", s, err)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func checkTermination(cfg map[string]any) map[string]string {
	if !empty(cfg["message"]) && (!empty(cfg["content_type"]) || !empty(cfg["body"])) {
		return map[string]string{"@entity": "message cannot be used with content_type or body"}
	}
	if !empty(cfg["content_type"]) && empty(cfg["body"]) {
		return map[string]string{"@entity": "content_type requires a body"}
	}
	return nil
}
