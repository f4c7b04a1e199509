package requesttransformer

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/transform"
)

// Kong lets values read the incoming request: $(headers.name),
// $(headers["x-name"]), $(query_params.name), $(uri_captures.name) and
// $(uri_captures[1]). A reference to something absent renders empty.
var templateRef = regexp.MustCompile(`\$\((headers|query_params|uri_captures)(?:\.([A-Za-z0-9_]+)|\[\s*(?:"([^"]*)"|'([^']*)'|(\d+))\s*\])\)`)

// isTemplate reports whether a value needs rendering per request.
func isTemplate(v string) bool { return strings.Contains(v, "$(") }

// render expands the references in v from the request.
func render[R request](v string, pc *plugin.Context, r R) string {
	return templateRef.ReplaceAllStringFunc(v, func(ref string) string {
		m := templateRef.FindStringSubmatch(ref)
		name := m[2] + m[3] + m[4] + m[5]
		switch m[1] {
		case "headers":
			return r.header(name)
		case "query_params":
			q, _ := url.ParseQuery(r.rawQuery())
			return q.Get(name)
		default:
			return pc.Captures[name]
		}
	})
}

// renderOps returns ops with templated values rendered, or ops itself
// when none is templated.
func renderOps[R request](ops *transform.Ops, pc *plugin.Context, r R) *transform.Ops {
	if !opsTemplated(ops) {
		return ops
	}
	out := *ops
	out.Rename = renderPairs(ops.Rename, pc, r)
	out.Replace = renderPairs(ops.Replace, pc, r)
	out.Add = renderPairs(ops.Add, pc, r)
	out.Append = renderPairs(ops.Append, pc, r)
	return &out
}

func opsTemplated(ops *transform.Ops) bool {
	for _, ps := range [][]transform.Pair{ops.Rename, ops.Replace, ops.Add, ops.Append} {
		for _, p := range ps {
			if isTemplate(p.Value) {
				return true
			}
		}
	}
	return false
}

func renderPairs[R request](ps []transform.Pair, pc *plugin.Context, r R) []transform.Pair {
	out := make([]transform.Pair, len(ps))
	for i, p := range ps {
		out[i] = p
		if isTemplate(p.Value) {
			out[i].Value = render(p.Value, pc, r)
		}
	}
	return out
}
