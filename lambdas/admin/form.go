package admin

import (
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// Form bodies follow Kong's conventions: "paths[]=/a&paths[]=/b" (or a
// repeated "paths", or "paths[1]") for arrays, dots for records
// ("config.minute=5", "healthchecks.active.http_path=/"), and values
// coerced to the field's type; an empty value is null.

// node is the type of one field, for coercing form values.
type node interface {
	// typ is integer, number, boolean, string, array, map, record or any.
	typ() string
	// child is a record field or a map value; nil when unknown.
	child(name string) node
	// elem is an array's element.
	elem() node
}

type reflectNode struct {
	t      reflect.Type
	plugin string
}

func newReflectNode(k model.Kind, plugin string) node {
	e, err := model.New(k)
	if err != nil {
		return nil
	}
	return reflectNode{t: reflect.TypeOf(e), plugin: plugin}
}

func (n reflectNode) base() reflect.Type {
	t := n.t
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func (n reflectNode) typ() string {
	t := n.base()
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	case reflect.Float64, reflect.Float32:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "array"
	case reflect.Map:
		return "map"
	case reflect.Struct:
		return "record"
	}
	return "any"
}

func (n reflectNode) child(name string) node {
	t := n.base()
	switch t.Kind() {
	case reflect.Map:
		return reflectNode{t: t.Elem()}
	case reflect.Struct:
		for _, f := range reflect.VisibleFields(t) {
			if f.Anonymous || !f.IsExported() {
				continue
			}
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag != name {
				continue
			}
			if name == "config" && n.plugin != "" {
				if s, ok := pluginschema.Lookup(n.plugin); ok {
					return schemaNode{f: &pluginschema.Field{Type: "record", Fields: s.Fields}}
				}
			}
			return reflectNode{t: f.Type}
		}
	}
	return nil
}

func (n reflectNode) elem() node {
	if t := n.base(); t.Kind() == reflect.Slice {
		return reflectNode{t: t.Elem()}
	}
	return nil
}

// schemaNode types plugin config fields from the plugin's schema.
type schemaNode struct{ f *pluginschema.Field }

func (n schemaNode) typ() string {
	switch n.f.Type {
	case "set":
		return "array"
	case "":
		return "any"
	}
	return n.f.Type
}

func (n schemaNode) child(name string) node {
	for i := range n.f.Fields {
		if n.f.Fields[i].Name == name {
			return schemaNode{f: &n.f.Fields[i]}
		}
	}
	return nil
}

func (n schemaNode) elem() node {
	if n.f.Elements == nil {
		return nil
	}
	return schemaNode{f: n.f.Elements}
}

// formToMap turns form values into the JSON object they stand for.
func formToMap(values map[string][]string, root node) (map[string]any, error) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]any{}
	for _, key := range keys {
		for _, v := range values[key] {
			insert(out, root, key, v)
		}
	}
	return out, nil
}

// insert sets the value of one form key ("a.b[2]") in out.
func insert(out map[string]any, root node, key, value string) {
	parts := strings.Split(key, ".")
	cur, n := out, root
	for i, part := range parts {
		name, index := splitIndex(part)
		if n != nil {
			n = n.child(name)
		}
		if i < len(parts)-1 {
			if index != 0 {
				// An array of records: "sources[1].ip".
				cur, n = recordElement(cur, name, index), elemOf(n)
				continue
			}
			next, ok := cur[name].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[name] = next
			}
			cur = next
			continue
		}
		if index == 0 && (n == nil || n.typ() != "array") {
			cur[name] = coerce(n, value)
			return
		}
		el := elemOf(n)
		arr, _ := cur[name].([]any)
		if value == "" && index <= 0 {
			if arr == nil {
				cur[name] = []any{}
			}
			return
		}
		v := coerce(el, value)
		if index > 0 {
			for len(arr) < index {
				arr = append(arr, nil)
			}
			arr[index-1] = v
		} else {
			arr = append(arr, v)
		}
		cur[name] = arr
	}
}

// recordElement returns the record at index (1-based; -1 appends) of the
// array cur[name], creating what is missing.
func recordElement(cur map[string]any, name string, index int) map[string]any {
	arr, _ := cur[name].([]any)
	if index < 0 {
		index = len(arr) + 1
	}
	for len(arr) < index {
		arr = append(arr, nil)
	}
	m, ok := arr[index-1].(map[string]any)
	if !ok {
		m = map[string]any{}
		arr[index-1] = m
	}
	cur[name] = arr
	return m
}

func elemOf(n node) node {
	if n == nil {
		return nil
	}
	return n.elem()
}

// splitIndex splits "paths[]" into ("paths", -1), "paths[2]" into
// ("paths", 2) and "paths" into ("paths", 0).
func splitIndex(part string) (string, int) {
	name, rest, ok := strings.Cut(part, "[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return part, 0
	}
	rest = strings.TrimSuffix(rest, "]")
	if rest == "" {
		return name, -1
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i < 1 || i > 1000 {
		return name, -1
	}
	return name, i
}

// coerce converts a form value to the field's type; a value that does not
// convert stays a string, so strict decoding reports the field.
func coerce(n node, v string) any {
	if v == "" {
		return nil
	}
	if n == nil {
		return v
	}
	switch n.typ() {
	case "integer", "number":
		if isJSONNumber(v) {
			return jsonNumber(v)
		}
	case "boolean":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}
