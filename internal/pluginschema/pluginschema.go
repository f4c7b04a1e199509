// Package pluginschema holds the configuration schemas of the plugins the
// project ships: Kong's field names, types and defaults for each. The
// shared model validates plugin configurations with it (so the Admin API
// refuses a bad one and GET /schemas/plugins/{name} describes it), and
// the data plane's plugins decode their already-validated config from it.
//
// It depends on nothing in the project but internal/corsorigin (which
// depends on nothing), so the model can import it.
package pluginschema

import "sort"

// Schema describes one plugin's configuration.
type Schema struct {
	// Name is the plugin name ("key-auth").
	Name string
	// Priority is Kong's plugin priority: higher runs first.
	Priority int
	// Fields describes the config record.
	Fields []Field
	// NoConsumer is true for plugins that cannot be scoped to a consumer
	// (Kong's typedefs.no_consumer: the authentication plugins, acl and
	// cors); the model answers consumer: "value must be null".
	NoConsumer bool
	// Check, when set, validates the whole normalized config after every
	// field passed (Kong's entity checks). It returns messages keyed by
	// field path relative to config ("@entity" for the record itself).
	Check func(cfg map[string]any) map[string]string
}

// Field is one configuration field.
type Field struct {
	Name string
	// Type is string, integer, number, boolean, array, set, map or record.
	Type     string
	Required bool
	// Default is filled in when the field is absent or null; it is deep
	// copied into every normalized config.
	Default any
	// OneOf lists the accepted values, when restricted.
	OneOf []any
	// Between, when set, is the inclusive [min, max] of a number or
	// integer.
	Between []float64
	// Elements describes array/set elements; Fields a record's fields;
	// Values a map's values (keys are strings).
	Elements *Field
	Fields   []Field
	Values   *Field
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
	out := n.record("config", s.Fields, cfg)
	if len(n.errs) == 0 && s.Check != nil {
		for k, v := range s.Check(out) {
			n.errs["config."+k] = v
		}
	}
	if len(n.errs) > 0 {
		return nil, n.errs
	}
	return out, nil
}

// schemas holds every shipped plugin's schema, keyed by name.
var schemas = map[string]*Schema{}

func register(s *Schema) { schemas[s.Name] = s }
