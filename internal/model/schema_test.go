package model_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

// defaultsOf fills defaults from a schema document the way go-kong's
// FillEntityDefaults does (kong/utils.go flattenLuaSchema): every field's
// default, or null, records recursed into.
func defaultsOf(fields []any) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		for name, d := range f.(map[string]any) {
			def := d.(map[string]any)
			if def["type"] == "record" && def["fields"] != nil {
				out[name] = defaultsOf(def["fields"].([]any))
				continue
			}
			out[name] = def["default"]
		}
	}
	return out
}

func jsonOf(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

// diffDefaults lists where what a client fills from the schema differs
// from what the model gives a new entity.
func diffDefaults(prefix string, schema, entity map[string]any, out *[]string) {
	for name, want := range schema {
		got, ok := entity[name]
		if sub, isRecord := want.(map[string]any); isRecord {
			gotSub, _ := got.(map[string]any)
			diffDefaults(prefix+name+".", sub, gotSub, out)
			continue
		}
		if !ok {
			continue // fields the model leaves out when empty (ids, timestamps)
		}
		if want == nil && (got == nil || got == "" || reflect.DeepEqual(got, []any{})) {
			continue
		}
		if fmt.Sprint(want) != fmt.Sprint(got) {
			*out = append(*out, fmt.Sprintf("%s%s: schema %v, model %v", prefix, name, want, got))
		}
	}
	for name := range entity {
		if _, ok := schema[name]; !ok {
			*out = append(*out, fmt.Sprintf("%s%s: not in the schema", prefix, name))
		}
	}
}

func TestSchemaDefaultsAreTheModels(t *testing.T) {
	t.Parallel()
	for _, k := range model.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			raw, err := model.Schema(k)
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(raw, &doc))
			e, err := model.New(k)
			require.NoError(t, err)
			var diffs []string
			diffDefaults("", defaultsOf(doc["fields"].([]any)), jsonOf(t, e), &diffs)
			sort.Strings(diffs)
			require.Empty(t, diffs)
		})
	}
}

// oneOfs lists the fields of a schema's fields whose values are
// restricted, by dotted path; elem is true for an array's elements.
func oneOfs(prefix string, fields []any, out map[string][]any, elem map[string]bool) {
	for _, f := range fields {
		for name, d := range f.(map[string]any) {
			def := d.(map[string]any)
			path := prefix + name
			if values, ok := def["one_of"].([]any); ok {
				out[path] = values
			}
			if el, ok := def["elements"].(map[string]any); ok {
				if values, ok := el["one_of"].([]any); ok {
					out[path], elem[path] = values, true
				}
			}
			if sub, ok := def["fields"].([]any); ok {
				oneOfs(path+".", sub, out, elem)
			}
		}
	}
}

// withValue returns a new entity of kind k whose field at path is v.
func withValue(t *testing.T, k model.Kind, path string, v any) model.Entity {
	t.Helper()
	e, err := model.New(k)
	require.NoError(t, err)
	m := jsonOf(t, e)
	cur := m
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		cur = cur[p].(map[string]any)
	}
	cur[parts[len(parts)-1]] = v
	raw, err := json.Marshal(m)
	require.NoError(t, err)
	out, err := model.New(k)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, out))
	return out
}

// oneOfErrors lists err's "expected one of" messages by path.
func oneOfErrors(err error) map[string]string {
	out := map[string]string{}
	var me *model.Error
	if !errors.As(err, &me) {
		return out
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				walk(path+"."+k, sub)
			}
		case []any:
			for _, sub := range x {
				walk(path, sub)
			}
		default:
			if strings.HasPrefix(fmt.Sprint(x), "expected one of") {
				out[path[1:]] = fmt.Sprint(x)
			}
		}
	}
	walk("", me.Fields)
	return out
}

// TestSchemaOneOfsAreTheModels: every value a schema allows is one the
// model accepts, and a value it does not allow is refused.
func TestSchemaOneOfsAreTheModels(t *testing.T) {
	t.Parallel()
	for _, k := range model.Kinds {
		raw, err := model.Schema(k)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(raw, &doc))
		restricted, elem := map[string][]any{}, map[string]bool{}
		oneOfs("", doc["fields"].([]any), restricted, elem)
		for path, values := range restricted {
			var bogus any = "not-a-value"
			if _, isNumber := values[0].(float64); isNumber {
				bogus = 987654.0
			}
			parts := make([]string, len(values))
			for i, v := range values {
				parts[i] = fmt.Sprint(v)
			}
			want := "expected one of: " + strings.Join(parts, ", ")
			for _, v := range append(values, bogus) {
				val := v
				if elem[path] {
					val = []any{v}
				}
				paths := oneOfErrors(withValue(t, k, path, val).Validate())
				got := paths[path] + paths[path+".1"]
				if v == bogus {
					require.Equal(t, want, got, "%s %s=%v: the model's values are the schema's", k, path, v)
					continue
				}
				require.NotEqual(t, want, got, "%s %s=%v refused", k, path, v)
			}
		}
	}
}
