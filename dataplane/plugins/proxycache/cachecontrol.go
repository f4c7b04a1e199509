package proxycache

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// directives is a parsed Cache-Control header (kong/tools/http.lua,
// parse_directive_header): each directive by lowercase name, its value a
// number when it reads as one (num set), else text, or neither for a
// bare directive.
type directives map[string]directive

type directive struct {
	num    float64
	isNum  bool
	text   string
	hasArg bool
}

func parseDirectives(values []string) directives {
	if len(values) == 0 {
		return nil
	}
	d := directives{}
	for part := range strings.SplitSeq(strings.Join(values, ", "), ",") {
		part = strings.TrimLeft(part, " \t")
		if part == "" {
			continue
		}
		name, val, hasArg := strings.Cut(part, "=")
		dv := directive{hasArg: hasArg && val != "", text: val}
		if dv.hasArg {
			if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				dv.num, dv.isNum = f, true
			}
		}
		d[strings.ToLower(name)] = dv
	}
	return d
}

func (d directives) has(name string) bool {
	_, ok := d[name]
	return ok
}

// number returns a directive's numeric value.
func (d directives) number(name string) (float64, bool) {
	v, ok := d[name]
	return v.num, ok && v.isNum
}

// resourceTTL is calculate_resource_ttl: s-maxage, else max-age, else
// what Expires leaves; never below 0.
func resourceTTL(d directives, h http.Header, now time.Time) int64 {
	ttl, ok := d.number("s-maxage")
	if !ok {
		ttl, ok = d.number("max-age")
	}
	if !ok {
		if exp := h.Values("Expires"); len(exp) > 0 {
			if t, err := http.ParseTime(exp[len(exp)-1]); err == nil {
				ttl, ok = float64(t.Unix()-now.Unix()), true
			}
		}
	}
	if !ok || ttl < 0 {
		return 0
	}
	return int64(ttl)
}

// mediaType is a parsed Content-Type: type and subtype lowercase ("*"
// for both from "*"), parameters by lowercase name.
type mediaType struct {
	typ, sub string
	params   map[string]string
}

func parseMediaType(s string) (mediaType, bool) {
	if strings.TrimSpace(s) == "*" {
		return mediaType{typ: "*", sub: "*"}, true
	}
	full, params, err := mime.ParseMediaType(s)
	if err != nil {
		return mediaType{}, false
	}
	typ, sub, ok := strings.Cut(full, "/")
	if !ok {
		return mediaType{}, false
	}
	return mediaType{typ: typ, sub: sub, params: params}, true
}

// matches is cacheable_response's content type test: type and subtype
// equal or wildcards in the configured one, and the same parameters.
func (want mediaType) matches(got mediaType) bool {
	if (want.typ != "*" && want.typ != got.typ) || (want.sub != "*" && want.sub != got.sub) {
		return false
	}
	if len(want.params) != len(got.params) {
		return false
	}
	for k, v := range want.params {
		if got.params[k] != v {
			return false
		}
	}
	return true
}
