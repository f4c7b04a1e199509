package pluginschema

import (
	"fmt"
	"strings"
)

// Field constructors keep the schema tables short. They return values so
// a table reads like Kong's Lua schema.

func str(name string) Field { return Field{Name: name, Type: "string"} }

func strDefault(name, def string) Field {
	return Field{Name: name, Type: "string", Required: true, Default: def}
}

func boolean(name string, def bool) Field {
	return Field{Name: name, Type: "boolean", Required: true, Default: def}
}

func integer(name string, def any, between ...float64) Field {
	return Field{Name: name, Type: "integer", Default: def, Required: def != nil, Between: between}
}

func number(name string, between ...float64) Field {
	return Field{Name: name, Type: "number", Between: between}
}

func oneOfStrings(name, def string, values ...string) Field {
	f := Field{Name: name, Type: "string", OneOf: make([]any, len(values))}
	for i, v := range values {
		f.OneOf[i] = v
	}
	if def != "" {
		f.Required, f.Default = true, def
	}
	return f
}

// strings returns an array (or set) of strings with a default; nil def
// means no default (the field may be null).
func stringList(typ, name string, def ...string) Field {
	f := Field{Name: name, Type: typ, Elements: &Field{Type: "string"}}
	if def != nil {
		d := make([]any, len(def))
		for i, v := range def {
			d[i] = v
		}
		f.Default = d
	}
	return f
}

func record(name string, fields ...Field) Field {
	return Field{Name: name, Type: "record", Required: true, Fields: fields}
}

// Entity checks, with Kong's messages.

func atLeastOneOf(cfg map[string]any, names ...string) map[string]string {
	for _, n := range names {
		if !empty(cfg[n]) {
			return nil
		}
	}
	return map[string]string{"@entity": "at least one of these fields must be non-empty: " + quoteFields(names)}
}

func onlyOneOf(cfg map[string]any, names ...string) map[string]string {
	set := 0
	for _, n := range names {
		if !empty(cfg[n]) {
			set++
		}
	}
	if set > 1 {
		return map[string]string{"@entity": "only one of these fields must be non-empty: " + quoteFields(names)}
	}
	return nil
}

func quoteFields(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("'config.%s'", n)
	}
	return strings.Join(q, ", ")
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	}
	return false
}

func merge(dst map[string]string, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		if _, ok := dst[k]; !ok {
			dst[k] = v
		}
	}
	return dst
}
