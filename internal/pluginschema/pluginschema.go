// Package pluginschema holds the configuration schemas of the plugins the
// project ships. Each is Kong 3.9.3's schema document for the plugin, as
// Kong's GET /schemas/plugins/{name} renders it (schemas/*.json, the
// fields' descriptions left out): the Admin API serves it as is, and the
// field definitions it holds (types, defaults, one_of, between, gt,
// len_min, patterns, shorthand fields) drive validation and default
// filling here, so what Kong's clients fill from the schema is what the
// Admin API stores. Kong's entity checks that are functions in Kong are
// Go functions here (Schema.Check). The shared model validates plugin
// configurations with it, and the data plane's plugins decode their
// already-validated config from it.
//
// It depends on nothing in the project but internal/corsorigin (which
// depends on nothing), so the model can import it.
package pluginschema

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
)

// Schema describes one plugin's configuration.
type Schema struct {
	// Name is the plugin name ("key-auth").
	Name string
	// Priority is Kong's plugin priority: higher runs first.
	Priority int
	// Fields describes the config record.
	Fields []Field
	// Shorthands are the config record's shorthand fields: deprecated
	// names accepted on input and moved to their replacement.
	Shorthands []Shorthand
	// Protocols are the protocols the plugin may run for (its protocols
	// field's one_of); DefaultProtocols those it runs for by default.
	Protocols, DefaultProtocols []string
	// NoConsumer is true for plugins that cannot be scoped to a consumer
	// (Kong's typedefs.no_consumer: the authentication plugins, acl and
	// cors); the model answers consumer: "value must be null".
	NoConsumer bool
	// Check, when set, validates the whole normalized config after every
	// field passed (Kong's entity checks). It returns messages keyed by
	// field path relative to config ("@entity" for the record's entity
	// checks, "" for its custom validator, reported at "config" itself).
	Check func(cfg map[string]any) map[string]string
	// Doc is the schema document GET /schemas/plugins/{name} answers.
	Doc json.RawMessage
}

// Lookup returns the schema of the named plugin.
func Lookup(name string) (*Schema, bool) {
	s, ok := schemas[name]
	return s, ok
}

// Names lists the plugins that have a schema, sorted.
func Names() []string {
	out := make([]string, 0, len(schemas))
	for n := range schemas {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Normalize validates cfg against the named plugin's schema and returns a
// copy with defaults filled in. errs maps "config.<field path>" to a
// message (array elements are numbered from 1, as Kong does); known is
// false for a plugin without a schema.
func Normalize(name string, cfg map[string]any) (out map[string]any, errs map[string]string, known bool) {
	s, ok := schemas[name]
	if !ok {
		return nil, nil, false
	}
	out, errs = s.Normalize(cfg)
	return out, errs, true
}

// Normalize validates cfg against s; see the package function Normalize.
func (s *Schema) Normalize(cfg map[string]any) (map[string]any, map[string]string) {
	n := &normalizer{errs: map[string]string{}}
	cfg = n.shorthands("config", s.Shorthands, cfg)
	out := n.record("config", s.Fields, cfg)
	if len(n.errs) == 0 && s.Check != nil {
		for k, v := range s.Check(out) {
			if k == "" {
				n.errs["config"] = v // the record's own validator
				continue
			}
			n.errs["config."+k] = v
		}
	}
	if len(n.errs) > 0 {
		return nil, n.errs
	}
	return out, nil
}

//go:embed schemas/*.json
var docs embed.FS

// schemas holds every shipped plugin's schema, keyed by name.
var schemas = map[string]*Schema{}

// register loads the named plugin's schema document and adds the plugin
// with its priority and entity checks.
func register(name string, priority int, check func(cfg map[string]any) map[string]string) {
	raw, err := docs.ReadFile("schemas/" + name + ".json")
	if err != nil {
		panic(fmt.Sprintf("plugin %s: %v", name, err))
	}
	s, err := parseDoc(raw)
	if err != nil {
		panic(fmt.Sprintf("plugin %s: parsing its schema: %v", name, err))
	}
	s.Name, s.Priority, s.Check = name, priority, check
	schemas[name] = s
}
