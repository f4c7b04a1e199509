package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// ErrIncompatible reports a snapshot naming a plugin this data plane does
// not have (Kong's plugin_set_incompatible).
var ErrIncompatible = errors.New("plugin_set_incompatible")

// ErrBodyTooLarge is returned by a request body that a plugin limits
// (request-size-limiting on a chunked body) once it passes the limit; the
// proxy answers it with 413 {"message":"Request size limit exceeded"}.
var ErrBodyTooLarge = errors.New("request size limit exceeded")

// Registry maps plugin names to factories. The one registry of shipped
// plugins is built by package plugins (dataplane/plugins).
type Registry struct {
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Register adds a plugin.
func (r *Registry) Register(name string, f Factory) { r.factories[name] = f }

// Has reports whether the registry can build the named plugin.
func (r *Registry) Has(name string) bool {
	_, ok := r.factories[name]
	return ok
}

// Names lists the registered plugins, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.factories))
	for n := range r.factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// DecodeConfig decodes a plugin's normalized configuration into dst, a
// pointer to the plugin's config struct with json tags. Unknown fields are
// ignored: the shared schema has already refused them.
func DecodeConfig(cfg map[string]any, dst any) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encoding plugin config: %w", err)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("decoding plugin config: %w", err)
	}
	return nil
}
