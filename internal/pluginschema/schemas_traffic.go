package pluginschema

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
)

// The traffic-control and security plugins (kong/plugins/*/schema.lua).

// RateLimitPeriods are rate-limiting's window fields, shortest first.
var RateLimitPeriods = []string{"second", "minute", "hour", "day", "month", "year"}

// CORSMethods are cors's accepted (and default) methods.
var CORSMethods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

func init() {
	register("rate-limiting", 910, checkRateLimiting)
	register("cors", 2000, checkCORS)
	register("ip-restriction", 990, checkIPRestriction)
	register("request-size-limiting", 951, nil)
	register("request-termination", 2, checkTermination)
}

func checkRateLimiting(cfg map[string]any) map[string]string {
	if errs := atLeastOneOf(cfg, RateLimitPeriods...); errs != nil {
		return errs
	}
	errs := redisRequired(cfg)
	if code, ok := cfg["error_code"].(float64); ok && code != math.Trunc(code) {
		// Kong's schema takes any number; the data plane answers with it
		// as a status code.
		errs = merge(errs, map[string]string{"error_code": "expected an integer"})
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

// redisRequired is the conditional entity checks of the rate-limiting
// plugins: the redis policy needs config.redis's host, port and timeout.
func redisRequired(cfg map[string]any) map[string]string {
	if p, _ := cfg["policy"].(string); p != "redis" {
		return nil
	}
	var errs map[string]string
	redis, _ := cfg["redis"].(map[string]any)
	for _, f := range []string{"host", "port", "timeout"} {
		if redis == nil || empty(redis[f]) {
			errs = merge(errs, map[string]string{"redis." + f: msgRequired})
		}
	}
	return errs
}
