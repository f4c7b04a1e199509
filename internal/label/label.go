// Package label is the label services and routes carry in metrics: the
// status endpoint's series and the proxy's per-service label, and the
// prometheus plugin's routes (its services fall back to the host, as
// Kong's exporter's do).
package label

import "github.com/skyport-gw/skyport/internal/model"

// Of is an entity's label: its name, else its id (Kong's exporter's
// route.name or route.id). An empty name, which Kong's schema refuses,
// counts as none.
func Of(name *string, id string) string {
	if name != nil && *name != "" {
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
