package admin

import (
	"net/http"
	"sort"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// fixedEndpoints are the paths served besides the entities' own.
var fixedEndpoints = []string{
	"/", "/status", "/config", "/endpoints", "/tags", "/tags/{tags}",
	"/schemas/{name}", "/schemas/{db_entity_name}/validate",
	"/schemas/plugins/validate", "/schemas/plugins/{name}",
	"/schemas/vaults/validate", "/schemas/vaults/{name}",
	"/plugins/enabled", "/clustering/data-planes", "/clustering/status", "/clustering/summary",
	"/upstreams/{upstreams}/health", "/upstreams/{upstreams}/targets/all",
}

// endpointList is what GET /endpoints answers (kong/api/routes/kong.lua):
// every path the Admin API serves, with Kong's parameter names (the
// entity's DAO name), sorted segment by segment.
func endpointList() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range fixedEndpoints {
		add(p)
	}
	for _, k := range model.Kinds {
		if c := k.Info().Collection; c != "" {
			add("/" + c)
			add("/" + c + "/{" + string(k) + "}")
		}
	}
	for _, rel := range relations {
		pc := rel.parent.Info().Collection
		base := "/" + pc + "/{" + string(rel.parent) + "}/" + rel.seg
		add(base)
		add(base + "/{" + string(rel.child) + "}")
		if cc := rel.child.Info().Collection; cc != "" {
			add("/" + cc + "/{" + string(rel.child) + "}/" + rel.field)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.ReplaceAll(out[i], "/", "\x00") < strings.ReplaceAll(out[j], "/", "\x00")
	})
	return out
}

// endpoints serves GET /endpoints.
func (h *Handler) endpoints(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"data": endpointList()})
}
