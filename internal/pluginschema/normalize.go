package pluginschema

import (
	"fmt"
	"math"
	"strconv"
)

// Kong's schema violation messages.
const (
	msgUnknown  = "unknown field"
	msgRequired = "required field missing"
)

// normalizer walks a config, collecting errors by dotted path.
type normalizer struct {
	errs map[string]string
}

func (n *normalizer) fail(path, msg string) {
	if _, ok := n.errs[path]; !ok {
		n.errs[path] = msg
	}
}

// record normalizes a record value: unknown fields refused, each known
// field checked, defaults filled.
func (n *normalizer) record(path string, fields []Field, in map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for k := range in {
		if findField(fields, k) == nil {
			n.fail(path+"."+k, msgUnknown)
		}
	}
	for i := range fields {
		f := &fields[i]
		v, present := in[f.Name]
		if v == nil {
			present = false
		}
		if !present {
			switch {
			case f.Default != nil:
				out[f.Name] = deepCopy(f.Default)
			case f.Type == "record":
				out[f.Name] = n.absentRecord(path+"."+f.Name, f)
			case f.Required:
				n.fail(path+"."+f.Name, msgRequired)
			default:
				out[f.Name] = nil
			}
			continue
		}
		out[f.Name] = n.value(path+"."+f.Name, f, v)
	}
	return out
}

// absentRecord fills a missing record with its fields' defaults, as Kong
// does; a record whose fields cannot all be defaulted stays null unless it
// is required.
func (n *normalizer) absentRecord(path string, f *Field) any {
	sub := &normalizer{errs: map[string]string{}}
	out := sub.record(path, f.Fields, nil)
	if len(sub.errs) == 0 {
		return out
	}
	if f.Required {
		for k, v := range sub.errs {
			n.fail(k, v)
		}
	}
	return nil
}

// value checks one present, non-null value against f.
func (n *normalizer) value(path string, f *Field, v any) any {
	var out any
	switch f.Type {
	case "string":
		s, ok := v.(string)
		if !ok {
			n.fail(path, "expected a string")
			return nil
		}
		out = s
	case "boolean":
		b, ok := v.(bool)
		if !ok {
			n.fail(path, "expected a boolean")
			return nil
		}
		out = b
	case "integer", "number":
		x, ok := toNumber(v)
		if !ok || (f.Type == "integer" && x != math.Trunc(x)) {
			n.fail(path, "expected "+article(f.Type))
			return nil
		}
		if len(f.Between) == 2 && (x < f.Between[0] || x > f.Between[1]) {
			n.fail(path, fmt.Sprintf("value should be between %s and %s", fmtNum(f.Between[0]), fmtNum(f.Between[1])))
			return nil
		}
		out = x
	case "array", "set":
		return n.list(path, f, v)
	case "map":
		return n.mapValue(path, f, v)
	case "record":
		m, ok := v.(map[string]any)
		if !ok {
			n.fail(path, "expected a record")
			return nil
		}
		return n.record(path, f.Fields, m)
	default:
		out = v
	}
	if len(f.OneOf) > 0 && !oneOf(f.OneOf, out) {
		n.fail(path, "expected one of: "+joinAny(f.OneOf))
		return nil
	}
	return out
}

func (n *normalizer) list(path string, f *Field, v any) any {
	items, ok := v.([]any)
	if !ok {
		if ss, isStrings := v.([]string); isStrings {
			items = make([]any, len(ss))
			for i, s := range ss {
				items[i] = s
			}
		} else {
			n.fail(path, "expected "+article(f.Type))
			return nil
		}
	}
	out := make([]any, 0, len(items))
	for i, it := range items {
		p := path + "." + strconv.Itoa(i+1)
		if f.Elements != nil {
			if it == nil {
				n.fail(p, msgRequired)
				continue
			}
			it = n.value(p, f.Elements, it)
		}
		if f.Type == "set" && containsValue(out, it) {
			continue
		}
		out = append(out, it)
	}
	return out
}

func (n *normalizer) mapValue(path string, f *Field, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		n.fail(path, "expected a map")
		return nil
	}
	out := make(map[string]any, len(m))
	for k, it := range m {
		if f.Values != nil && it != nil {
			it = n.value(path+"."+k, f.Values, it)
		}
		out[k] = it
	}
	return out
}
