package model

// Plugin is an instance of a plugin, global or scoped to a service, route,
// consumer or a combination of them.
type Plugin struct {
	Base
	// Name is the plugin's name ("key-auth").
	Name string `json:"name"`
	// InstanceName optionally names this instance; unique.
	InstanceName *string `json:"instance_name"`
	// Config is the plugin's configuration, validated and completed with
	// defaults by the plugin's schema.
	Config map[string]any `json:"config"`
	// Protocols the plugin runs for; default grpc, grpcs, http, https.
	Protocols []string `json:"protocols"`
	// Enabled false keeps the plugin configured but inactive; default true.
	Enabled bool `json:"enabled"`
	// Service, Route and Consumer scope the plugin; all nil means global.
	Service  *Ref `json:"service"`
	Route    *Ref `json:"route"`
	Consumer *Ref `json:"consumer"`
}

// NewPlugin returns a plugin with Kong's defaults.
func NewPlugin() *Plugin {
	return &Plugin{Protocols: []string{"grpc", "grpcs", "http", "https"}, Enabled: true}
}

// Kind implements Entity.
func (*Plugin) Kind() Kind { return KindPlugin }

// References implements Entity.
func (p *Plugin) References() []Reference {
	return refs("service", KindService, p.Service, "route", KindRoute, p.Route,
		"consumer", KindConsumer, p.Consumer)
}

// UniqueKeys implements Entity. Kong allows one instance of a plugin per
// scope (name + service + route + consumer), and instance names are unique.
func (p *Plugin) UniqueKeys() []UniqueKey {
	id := func(r *Ref) string {
		if r == nil {
			return ""
		}
		return r.ID
	}
	scope := p.Name + ":" + id(p.Service) + ":" + id(p.Route) + ":" + id(p.Consumer)
	return uniques("instance_name", deref(p.InstanceName), "scope", scope)
}
