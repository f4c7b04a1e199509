package declarative

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
)

// decode fills e from m strictly, reporting type errors at their path.
func (p *parser) decode(m map[string]any, e model.Entity, path string) {
	raw, err := json.Marshal(m)
	if err != nil {
		p.errs.add(path, "invalid value: %s", oneLine(err.Error()))
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(e)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &typeErr):
		p.errs.add(fieldPath(path, typeErr.Field), "%s", expected(typeErr.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p.errs.add(fieldPath(path, name), "unknown field")
	default:
		p.errs.add(path, "invalid value: %s", oneLine(err.Error()))
	}
}

// expected returns Kong's message for a value of the wrong type.
func expected(goKind string) string {
	switch goKind {
	case "int", "int64", "int32":
		return "expected an integer"
	case "float64", "float32":
		return "expected a number"
	case "bool":
		return "expected a boolean"
	case "string":
		return "expected a string"
	case "slice", "array":
		return "expected an array"
	case "map", "struct", "ptr":
		return "expected a record"
	}
	return "invalid value"
}

// fieldPath joins an entity path and a model field path ("paths.0" or
// "healthchecks.active.timeout"), writing list indices as [N].
func fieldPath(path, field string) string {
	if field == "" {
		return path
	}
	var b strings.Builder
	b.WriteString(path)
	for _, seg := range strings.Split(field, ".") {
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			b.WriteString("[" + seg + "]")
		} else {
			b.WriteString("." + seg)
		}
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// clean converts what YAML decodes into plain JSON values: maps with
// string keys.
func clean(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			c, err := clean(child)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, child := range t {
			c, err := clean(child)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = c
		}
		return out, nil
	case []any:
		for i, child := range t {
			c, err := clean(child)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	}
	return v, nil
}
