package pluginschema

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// The logging plugins (kong/plugins/{http,file,tcp,udp}-log and syslog).

// MsgLuaCode refuses custom_fields_by_lua: the data plane runs no Lua.
const MsgLuaCode = "custom_fields_by_lua is not supported: this data plane does not run Lua code; remove the field"

func init() {
	register("http-log", 12, checkHTTPLog)
	register("file-log", 9, checkNoLua)
	register("tcp-log", 7, checkHostLog)
	register("udp-log", 8, checkHostLog)
	register("syslog", 4, checkNoLua)
}

// checkNoLua refuses a non-empty custom_fields_by_lua.
func checkNoLua(cfg map[string]any) map[string]string {
	if m, _ := cfg["custom_fields_by_lua"].(map[string]any); len(m) > 0 {
		return map[string]string{"custom_fields_by_lua": MsgLuaCode}
	}
	return nil
}

// checkHostLog adds Kong's typedefs.host check to checkNoLua.
func checkHostLog(cfg map[string]any) map[string]string {
	errs := checkNoLua(cfg)
	if h, _ := cfg["host"].(string); h != "" {
		if msg := checkHost(h); msg != "" {
			errs = merge(errs, map[string]string{"host": msg})
		}
	}
	return errs
}

// checkHost is Kong's validate_host: an IP address or a host name,
// without a port.
func checkHost(h string) string {
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return ""
	}
	if ap, err := netip.ParseAddrPort(h); err == nil && ap.Port() != 0 {
		return "must not have a port"
	}
	name, port, hasPort := strings.Cut(h, ":")
	if hasPort {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return "invalid value: " + h
		}
		return "must not have a port"
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "invalid value: " + h
		}
		for _, c := range label {
			if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return "invalid value: " + h
			}
		}
	}
	return ""
}

// checkHTTPLog is Kong's typedefs.url check on http_endpoint and the
// config's custom validator (no Authorization header with user info).
func checkHTTPLog(cfg map[string]any) map[string]string {
	errs := checkNoLua(cfg)
	endpoint, _ := cfg["http_endpoint"].(string)
	u, msg := checkURL(endpoint)
	if msg != "" {
		return merge(errs, map[string]string{"http_endpoint": msg})
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return merge(errs, map[string]string{"http_endpoint": "unsupported scheme '" + u.Scheme + "': use http or https"})
	}
	if u.User != nil {
		headers, _ := cfg["headers"].(map[string]any)
		for name := range headers {
			if strings.EqualFold(name, "authorization") {
				errs = merge(errs, map[string]string{"": "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"})
			}
		}
	}
	return errs
}

// checkURL is Kong's validate_url: a URL with a scheme and a host.
func checkURL(s string) (*url.URL, string) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, "could not parse url. " + err.Error()
	}
	if u.Host == "" {
		return nil, "missing host in url"
	}
	if u.Scheme == "" {
		return nil, "missing scheme in url"
	}
	return u, ""
}

// The tracing plugins (kong/plugins/opentelemetry).

func init() {
	register("opentelemetry", 14, checkOpenTelemetry)
}

// MsgOTelLogs refuses logs_endpoint: only traces are exported.
const MsgOTelLogs = "logs_endpoint is not supported by this data plane: only traces are exported (traces_endpoint)"

func checkOpenTelemetry(cfg map[string]any) map[string]string {
	if errs := atLeastOneOf(cfg, "traces_endpoint", "logs_endpoint"); errs != nil {
		return errs
	}
	var errs map[string]string
	if !empty(cfg["logs_endpoint"]) {
		errs = merge(errs, map[string]string{"logs_endpoint": MsgOTelLogs})
	}
	if s, ok := cfg["traces_endpoint"].(string); ok {
		if _, msg := checkURL(s); msg != "" {
			errs = merge(errs, map[string]string{"traces_endpoint": msg})
		}
	}
	return errs
}

func init() {
	register("zipkin", 100000, checkZipkin)
}

// zipkinProtectedTags are the tags the plugin sets itself.
var zipkinProtectedTags = []string{"error", "http.method", "http.path", "http.status_code", "kong.balancer.state",
	"kong.balancer.try", "kong.consumer", "kong.credential", "kong.node.id", "kong.route", "kong.service", "lc",
	"peer.hostname"}

// checkZipkin is http_endpoint's URL check, static_tags' not_one_of and
// its custom validator (no repeated tag).
func checkZipkin(cfg map[string]any) map[string]string {
	var errs map[string]string
	if s, ok := cfg["http_endpoint"].(string); ok {
		if _, msg := checkURL(s); msg != "" {
			errs = merge(errs, map[string]string{"http_endpoint": msg})
		}
	}
	tags, _ := cfg["static_tags"].([]any)
	seen := map[string]bool{}
	for i, t := range tags {
		name, _ := t.(map[string]any)["name"].(string)
		for _, p := range zipkinProtectedTags {
			if name == p {
				errs = merge(errs, map[string]string{fmt.Sprintf("static_tags.%d.name", i+1): "expected none of: " + strings.Join(zipkinProtectedTags, ", ")})
			}
		}
		if seen[name] {
			errs = merge(errs, map[string]string{"static_tags": "repeated tags are not allowed: " + name})
		}
		seen[name] = true
	}
	return errs
}
