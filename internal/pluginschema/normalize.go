package pluginschema

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
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
			case f.Default != nil && f.Type == "record":
				// A record's default is filled like a given value: its
				// other fields take their defaults (Kong's
				// typedefs.queue{ default = { max_batch_size = 200 } }).
				out[f.Name] = n.value(path+"."+f.Name, f, map[string]any{})
			case f.Default != nil && (f.Type == "array" || f.Type == "set") && f.Elements != nil && f.Elements.Type == "record":
				// Records in a default list are filled as given ones are
				// (statsd's metrics), as Kong's process_auto_fields does.
				out[f.Name] = n.value(path+"."+f.Name, f, deepCopy(f.Default))
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
		if msg := checkString(f, s); msg != "" {
			n.fail(path, msg)
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
		if f.Gt != nil && x <= *f.Gt {
			n.fail(path, "value must be greater than "+fmtNum(*f.Gt))
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
		m = n.shorthands(path, f.Shorthands, m)
		if def, ok := f.Default.(map[string]any); ok {
			// A field absent from a record with a default takes the
			// record default's value first, as go-kong fills it
			// (fillConfigRecord), so decK's view and the stored
			// config agree.
			m = withDefaults(m, def)
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
	if f.LenMin != nil && len(items) < *f.LenMin {
		n.fail(path, fmt.Sprintf("length must be at least %d", *f.LenMin))
		return nil
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
		if f.Keys != nil && f.Keys.Type == "string" {
			if msg := checkString(f.Keys, k); msg != "" {
				n.fail(path, msg)
				continue
			}
		}
		if f.Values != nil && it != nil {
			it = n.value(path+"."+k, f.Values, it)
		}
		out[k] = it
	}
	return out
}

// checkString runs Kong's string validators in Kong's order
// (kong/db/schema/init.lua validators_order): one_of is checked by the
// caller; then len_min (1 unless the field says otherwise), starts_with,
// match_none and match.
func checkString(f *Field, s string) string {
	minLen := 1
	if f.LenMin != nil {
		minLen = *f.LenMin
	}
	switch {
	case len(f.OneOf) > 0:
		return ""
	case utf8.RuneCountInString(s) < minLen:
		return fmt.Sprintf("length must be at least %d", minLen)
	case f.StartsWith != "" && !strings.HasPrefix(s, f.StartsWith):
		return "should start with: " + f.StartsWith
	}
	for _, p := range f.MatchNone {
		if p.Re.MatchString(s) {
			if p.Err != "" {
				return p.Err
			}
			return "invalid value: " + s
		}
	}
	if f.Match != nil && !f.Match.MatchString(s) {
		if f.MatchErr != "" {
			return f.MatchErr
		}
		return "invalid value: " + s
	}
	return ""
}

// shorthands moves the values of a record's shorthand fields to the
// fields that replace them, as Kong's process_auto_fields does: the value
// must be valid for the shorthand, and when the replacement is also given
// the two must agree (the replacement wins). It returns a copy of in.
func (n *normalizer) shorthands(path string, list []Shorthand, in map[string]any) map[string]any {
	if len(list) == 0 || in == nil {
		return in
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	for i := range list {
		sh := &list[i]
		v, ok := out[sh.Name]
		if !ok {
			continue
		}
		delete(out, sh.Name)
		if v == nil {
			continue
		}
		sub := &normalizer{errs: map[string]string{}}
		v = sub.value(path+"."+sh.Name, &sh.Field, v)
		if len(sub.errs) > 0 {
			for k, msg := range sub.errs {
				n.fail(k, msg)
			}
			continue
		}
		parent := out
		for _, seg := range sh.Path[:len(sh.Path)-1] {
			m, _ := parent[seg].(map[string]any)
			cp := make(map[string]any, len(m)+1)
			for k, x := range m {
				cp[k] = x
			}
			parent[seg], parent = cp, cp
		}
		last := sh.Path[len(sh.Path)-1]
		if cur := parent[last]; cur != nil && !equalValue(cur, v) {
			n.fail(path+"."+sh.Name, fmt.Sprintf(
				"both deprecated and new field are used but their values mismatch: %s = %s vs %s = %s",
				sh.Name, show(v), strings.Join(sh.Path, "."), show(cur)))
			continue
		}
		parent[last] = v
	}
	return out
}

func show(v any) string {
	if x, ok := toNumber(v); ok {
		return fmtNum(x)
	}
	return fmt.Sprint(v)
}

// withDefaults returns m with def's values for the keys m lacks (or
// holds null).
func withDefaults(m, def map[string]any) map[string]any {
	out := make(map[string]any, len(m)+len(def))
	for k, v := range def {
		out[k] = deepCopy(v)
	}
	for k, v := range m {
		if v != nil || out[k] == nil {
			out[k] = v
		}
	}
	return out
}
