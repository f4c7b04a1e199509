package proxycache

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// maxArgs is how many query arguments Kong reads (kong.request.get_query).
const maxArgs = 100

// cacheKey is Kong's cache key (kong/plugins/proxy-cache/cache_key.lua):
// the SHA-256, in hex, of the consumer and route, the method, the request
// line up to its query (or whole, when it has none), the query arguments
// and the headers that vary the key.
func (pc *ProxyCache) cacheKey(ctx *plugin.Context, r request) string {
	prefix := "default"
	switch {
	case ctx.Consumer != nil && ctx.Route != nil:
		prefix = ctx.Consumer.ID + ":" + ctx.Route.ID
	case ctx.Route != nil:
		prefix = ctx.Route.ID
	}
	// nginx's $request with everything from the first "?" removed.
	uri := r.line()
	if pc.conf.IgnoreURICase {
		uri = strings.ToLower(uri)
	}
	h := sha256.New()
	for i, part := range []string{prefix, r.method(), uri, pc.paramsKey(r.query()), pc.headersKey(r)} {
		if i > 0 {
			h.Write([]byte{'|'})
		}
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// arg is one query argument's values; bare is set for an argument given
// without "=" (Lua's true).
type arg struct {
	values []string
	bare   bool
}

// queryArgs parses the query as ngx.req.get_uri_args does, keeping the
// first maxArgs arguments.
func queryArgs(raw string) map[string]*arg {
	out := map[string]*arg{}
	n := 0
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		if n++; n > maxArgs {
			break
		}
		k, v, hasValue := strings.Cut(part, "=")
		k = unescape(k)
		if k == "" {
			continue
		}
		a := out[k]
		if a == nil {
			a = &arg{}
			out[k] = a
		}
		if hasValue {
			a.values = append(a.values, unescape(v))
		} else {
			a.bare = true
		}
	}
	return out
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// paramsKey is params_key: the vary_query_params arguments, or all of
// them sorted by name when none are configured.
func (pc *ProxyCache) paramsKey(rawQuery string) string {
	args := queryArgs(rawQuery)
	fields := pc.conf.VaryQueryParams
	if len(fields) == 0 {
		fields = make([]string, 0, len(args))
		for k := range args {
			fields = append(fields, k)
		}
		slices.Sort(fields)
	}
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		a, ok := args[f]
		if !ok {
			continue
		}
		switch {
		case len(a.values) == 0:
			parts = append(parts, f)
		case len(a.values) == 1 && !a.bare:
			parts = append(parts, f+"="+a.values[0])
		default:
			vs := slices.Clone(a.values)
			slices.Sort(vs)
			parts = append(parts, f+"="+strings.Join(vs, ","))
		}
	}
	return strings.Join(parts, ":")
}

// headersKey is headers_key: the vary_headers present, looked up without
// regard to case, several values sorted and joined with ",".
func (pc *ProxyCache) headersKey(r request) string {
	if len(pc.conf.VaryHeaders) == 0 {
		return ""
	}
	parts := make([]string, 0, len(pc.conf.VaryHeaders))
	for _, f := range pc.conf.VaryHeaders {
		vs := r.values(strings.ReplaceAll(f, "_", "-"))
		switch len(vs) {
		case 0:
		case 1:
			parts = append(parts, f+"="+vs[0])
		default:
			vs = slices.Clone(vs)
			slices.Sort(vs)
			parts = append(parts, f+"="+strings.Join(vs, ","))
		}
	}
	return strings.Join(parts, ":")
}
