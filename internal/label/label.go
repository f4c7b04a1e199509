// Package label is the label services and routes carry in metrics: the
// status endpoint's series, the prometheus plugin's, and the proxy's
// per-service label.
package label

import "github.com/skyport-gw/skyport/internal/model"

// Of is an entity's label, as Kong's exporters write it (Lua's
// `name or id`): its name when it has one, even "" (which validation
// refuses), else its id.
func Of(name *string, id string) string {
	if name != nil {
		return *name
	}
	return id
}

// Set is a set of labels.
type Set map[string]struct{}

// Sets returns the labels of cfg's services and routes.
func Sets(cfg *model.Config) (services, routes Set) {
	services = make(Set, len(cfg.Services))
	for _, s := range cfg.Services {
		services[Of(s.Name, s.ID)] = struct{}{}
	}
	routes = make(Set, len(cfg.Routes))
	for _, r := range cfg.Routes {
		routes[Of(r.Name, r.ID)] = struct{}{}
	}
	return services, routes
}

// Kept reports whether a series labeled v stays when the configuration
// holds set: v is "" (no service or route) or in set.
func (set Set) Kept(v string) bool {
	_, ok := set[v]
	return ok || v == ""
}
