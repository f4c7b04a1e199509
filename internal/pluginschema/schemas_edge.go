package pluginschema

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// The caching, redirection, bot-detection and serverless plugins
// (kong/plugins/{proxy-cache,redirect,bot-detection,response-ratelimiting,aws-lambda}/schema.lua).

// ProxyCacheDictionary is the one shared dictionary a data plane holds
// proxy-cache entries in: Kong's default (kong_db_cache).
const ProxyCacheDictionary = "kong_db_cache"

func init() {
	register("proxy-cache", 100, checkProxyCache)
	register("redirect", 779, func(cfg map[string]any) map[string]string {
		return checkURLFields(cfg, "location")
	})
	register("bot-detection", 2500, checkBotDetection)
	register("response-ratelimiting", 900, checkResponseRateLimiting)
	register("aws-lambda", 750, checkAWSLambda)
}

// checkProxyCache is Kong's shared dictionary check: the memory strategy
// keeps entries in the data plane's one dictionary.
func checkProxyCache(cfg map[string]any) map[string]string {
	mem, _ := cfg["memory"].(map[string]any)
	name, _ := mem["dictionary_name"].(string)
	if cfg["strategy"] == "memory" && name != ProxyCacheDictionary {
		return map[string]string{"@entity": "missing shared dict '" + name + "'"}
	}
	return nil
}

// checkURL is Kong's typedefs.url validator on the named fields that are
// set.
func checkURLFields(cfg map[string]any, names ...string) map[string]string {
	var errs map[string]string
	for _, n := range names {
		s, ok := cfg[n].(string)
		if !ok {
			continue
		}
		if _, msg := checkURL(s); msg != "" {
			errs = merge(errs, map[string]string{n: msg})
		}
	}
	return errs
}

// checkBotDetection compiles each pattern. The data plane matches with
// Go's regexp (RE2): PCRE-only constructs are refused here.
func checkBotDetection(cfg map[string]any) map[string]string {
	var errs map[string]string
	for _, name := range []string{"allow", "deny"} {
		list, _ := cfg[name].([]any)
		for i, v := range list {
			s, _ := v.(string)
			if _, err := regexp.Compile(s); err != nil {
				errs = merge(errs, map[string]string{name + "." + strconv.Itoa(i+1): "not a valid regex: " + s})
			}
		}
	}
	return errs
}

func checkResponseRateLimiting(cfg map[string]any) map[string]string {
	errs := redisRequired(cfg)
	limits, _ := cfg["limits"].(map[string]any)
	if len(limits) == 0 {
		return merge(errs, map[string]string{"limits": "length must be at least 1"})
	}
	for name, v := range limits {
		rec, ok := v.(map[string]any)
		if !ok {
			errs = merge(errs, map[string]string{"limits." + name: msgRequired})
			continue
		}
		if e := atLeastOneOf(rec, RateLimitPeriods...); e != nil {
			errs = merge(errs, map[string]string{"limits." + name: "at least one of these fields must be non-empty: " +
				quoteNames(RateLimitPeriods)})
			continue
		}
		if msg := periodOrder(rec); msg != "" {
			errs = merge(errs, map[string]string{"limits." + name: msg})
		}
	}
	return errs
}

func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return strings.Join(q, ", ")
}

// periodOrder is response-ratelimiting's validate_periods_order.
func periodOrder(rec map[string]any) string {
	for i, lower := range RateLimitPeriods {
		v1, ok := rec[lower].(float64)
		if !ok {
			continue
		}
		for _, upper := range RateLimitPeriods[i+1:] {
			if v2, ok := rec[upper].(float64); ok && v2 < v1 {
				return fmt.Sprintf("the limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)", upper, v2, lower, v1)
			}
		}
	}
	return ""
}

func checkAWSLambda(cfg map[string]any) map[string]string {
	if empty(cfg["aws_key"]) != empty(cfg["aws_secret"]) {
		return map[string]string{"@entity": "all or none of these fields must be set: 'config.aws_key', 'config.aws_secret'"}
	}
	errs := checkURLFields(cfg, "aws_sts_endpoint_url", "proxy_url")
	for _, n := range []string{"aws_region", "host"} {
		if s, ok := cfg[n].(string); ok {
			if msg := hostProblem(s); msg != "" {
				errs = merge(errs, map[string]string{n: msg})
			}
		}
	}
	if errs != nil {
		return errs
	}
	if p, ok := cfg["proxy_url"].(string); ok {
		if scheme, _, found := strings.Cut(p, "://"); found && scheme != "http" {
			return map[string]string{"@entity": "proxy_url scheme must be http"}
		}
	}
	return nil
}

// hostProblem is Kong's typedefs.host validator: a hostname or an IP
// address, without a port.
func hostProblem(s string) string {
	if strings.HasPrefix(s, "[") || net.ParseIP(s) != nil {
		return ""
	}
	if _, port, err := net.SplitHostPort(s); err == nil && port != "" {
		return "must not have a port"
	}
	if !validHostname.MatchString(s) {
		return "invalid value: " + s
	}
	return ""
}

var validHostname = regexp.MustCompile(`^[A-Za-z0-9_*]([A-Za-z0-9_\-*]*[A-Za-z0-9_*])?(\.[A-Za-z0-9_*]([A-Za-z0-9_\-*]*[A-Za-z0-9_*])?)*\.?$`)
