package pluginschema

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Helpers over the JSON-like values configs are made of.

func findField(fields []Field, name string) *Field {
	for i := range fields {
		if fields[i].Name == name {
			return &fields[i]
		}
	}
	return nil
}

func toNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func article(typ string) string {
	if typ == "integer" || typ == "array" {
		return "an " + typ
	}
	return "a " + typ
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func oneOf(allowed []any, v any) bool {
	for _, a := range allowed {
		if equalValue(a, v) {
			return true
		}
	}
	return false
}

func equalValue(a, b any) bool {
	if x, ok := toNumber(a); ok {
		y, ok := toNumber(b)
		return ok && x == y
	}
	return a == b
}

func containsValue(list []any, v any) bool {
	for _, it := range list {
		if isScalar(it) && isScalar(v) && equalValue(it, v) {
			return true
		}
	}
	return false
}

func isScalar(v any) bool {
	switch v.(type) {
	case []any, map[string]any:
		return false
	}
	return true
}

func joinAny(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ", ")
}

// deepCopy copies the JSON-like values defaults are made of, so no two
// normalized configs share a slice or map.
func deepCopy(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = deepCopy(it)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, it := range x {
			out[k] = deepCopy(it)
		}
		return out
	case int:
		return float64(x)
	}
	return v
}
