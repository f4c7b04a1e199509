// Package transform holds the operations request-transformer and
// response-transformer share: "name:value" pairs parsed once, and Kong's
// remove → rename → replace → add → append sequence applied to headers,
// query strings and JSON objects.
package transform

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// Pair is one "name:value" (or "old:new" for rename) configuration entry.
type Pair struct {
	Name, Value string
	// Type is a JSON value type (boolean, number, string) for
	// response-transformer's json_types; empty otherwise.
	Type string
}

// Pairs parses "name:value" entries as Kong does (both transformers'
// iter, the Lua pattern "^([^:]+):*(.-)$"): the name ends at the first
// colon and every colon after it is skipped, so "x::b" is x and b; a
// missing value is empty.
func Pairs(entries []string) []Pair {
	out := make([]Pair, 0, len(entries))
	for _, e := range entries {
		n, v, _ := strings.Cut(e, ":")
		out = append(out, Pair{Name: n, Value: strings.TrimLeft(v, ":")})
	}
	return out
}

// Ops is one target's operations, in the order Kong applies them.
type Ops struct {
	Remove  []string
	Rename  []Pair
	Replace []Pair
	Add     []Pair
	Append  []Pair
}

// Empty reports whether there is nothing to do.
func (o *Ops) Empty() bool {
	return len(o.Remove)+len(o.Rename)+len(o.Replace)+len(o.Add)+len(o.Append) == 0
}

// Headers applies the operations to h. Remove and rename take bare names
// (remove entries may carry a ":value" that is ignored).
func (o *Ops) Headers(h http.Header) { Fields(o, plugin.HeaderFields(h)) }

// Fields applies the operations to the fields h (a request's on either
// path, or a response's map through Headers): a renamed field replaces
// any of its new name.
func Fields[F plugin.Fields](o *Ops, h F) {
	for _, n := range o.Remove {
		h.Del(n)
	}
	for _, p := range o.Rename {
		if vs := h.Values(p.Name); len(vs) > 0 {
			h.Del(p.Name)
			h.Del(p.Value)
			for _, v := range vs {
				h.Add(p.Value, v)
			}
		}
	}
	// Replace acts on a field that is present, even empty, as Kong's
	// headers[name] ~= nil.
	for _, p := range o.Replace {
		if h.Has(p.Name) {
			h.Set(p.Name, p.Value)
		}
	}
	for _, p := range o.Add {
		if !h.Has(p.Name) {
			h.Set(p.Name, p.Value)
		}
	}
	for _, p := range o.Append {
		h.Add(p.Name, p.Value)
	}
}

// Query applies the operations to a query string, returning the new one
// (unchanged, byte for byte, when nothing applies).
func (o *Ops) Query(raw string) string {
	if o.Empty() {
		return raw
	}
	q, _ := url.ParseQuery(raw)
	changed := false
	for _, n := range o.Remove {
		if q.Has(n) {
			q.Del(n)
			changed = true
		}
	}
	for _, p := range o.Rename {
		if vs, ok := q[p.Name]; ok {
			delete(q, p.Name)
			q[p.Value] = vs
			changed = true
		}
	}
	for _, p := range o.Replace {
		if q.Has(p.Name) {
			q.Set(p.Name, p.Value)
			changed = true
		}
	}
	for _, p := range o.Add {
		if !q.Has(p.Name) {
			q.Set(p.Name, p.Value)
			changed = true
		}
	}
	for _, p := range o.Append {
		q.Add(p.Name, p.Value)
		changed = true
	}
	if !changed {
		return raw
	}
	return q.Encode()
}

// Form applies the operations to form values.
func (o *Ops) Form(q url.Values) {
	for _, n := range o.Remove {
		q.Del(n)
	}
	for _, p := range o.Rename {
		if vs, ok := q[p.Name]; ok {
			delete(q, p.Name)
			q[p.Value] = vs
		}
	}
	for _, p := range o.Replace {
		if q.Has(p.Name) {
			q.Set(p.Name, p.Value)
		}
	}
	for _, p := range o.Add {
		if !q.Has(p.Name) {
			q.Set(p.Name, p.Value)
		}
	}
	for _, p := range o.Append {
		q.Add(p.Name, p.Value)
	}
}

// JSON applies the operations to a JSON object's top-level keys; cast
// turns a configured pair into the JSON value to store.
func (o *Ops) JSON(obj map[string]any, cast func(Pair) any) {
	for _, n := range o.Remove {
		delete(obj, n)
	}
	for _, p := range o.Rename {
		if v, ok := obj[p.Name]; ok {
			delete(obj, p.Name)
			obj[p.Value] = v
		}
	}
	for _, p := range o.Replace {
		if _, ok := obj[p.Name]; ok {
			if v := cast(p); v != nil {
				obj[p.Name] = v
			}
		}
	}
	for _, p := range o.Add {
		if _, ok := obj[p.Name]; !ok {
			if v := cast(p); v != nil {
				obj[p.Name] = v
			}
		}
	}
	for _, p := range o.Append {
		v := cast(p)
		if v == nil {
			// A number that does not parse: Kong skips the entry.
			continue
		}
		obj[p.Name] = AppendValue(obj[p.Name], v)
	}
}

// AppendValue is Kong's append_value (request-transformer's access.lua,
// response-transformer's body_transformer.lua): a string becomes a list
// of it and v, a list grows, anything else (absent, a number, a boolean,
// null) is replaced by a list of v alone.
func AppendValue(cur, v any) any {
	switch cur := cur.(type) {
	case string:
		return []any{cur, v}
	case []any:
		return append(cur, v)
	case map[string]any:
		// A Lua table that is an object: table.insert puts v at index
		// 1. cjson encodes a table with only that key as an array, and
		// one with other keys as an object, the number key as the
		// string "1".
		if len(cur) == 0 {
			return []any{v}
		}
		cur["1"] = v
		return cur
	}
	return []any{v}
}

// Names returns the name part of "name:value" entries (remove lists may
// be written either way).
func Names(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i], _, _ = strings.Cut(e, ":")
	}
	return out
}
