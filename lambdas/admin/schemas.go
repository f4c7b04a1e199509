package admin

import (
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// shorthands are input-only fields that Kong's schemas do not list.
var shorthands = map[model.Kind]string{model.KindService: "url", model.KindCertificate: "snis"}

// descriptions are field descriptions the schemas show where Skyport's
// behaviour needs saying.
var descriptions = map[model.Kind]map[string]string{
	model.KindRoute: {"path_handling": "Controls how the Service path, Route path and requested path are " +
		"combined when sending a request to the upstream. Like Kong's traditional_compatible router, " +
		"Skyport always combines them as v0: v1 is accepted and stored, and has no effect."},
}

// schemas serves GET /schemas/{entity}, GET /schemas/plugins/{name} and
// POST /schemas/{entity}/validate.
func (h *Handler) schemas(w http.ResponseWriter, r *http.Request, segs []string) {
	switch {
	case len(segs) == 2 && segs[0] == "plugins" && segs[1] != "validate":
		h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
			s, ok := pluginschema.Lookup(segs[1])
			if !ok || (h.plugins != nil && !h.plugins[segs[1]]) {
				writeJSON(w, http.StatusNotFound, message("No plugin named '"+segs[1]+"'"))
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"fields": pluginFields(s)})
		})
	case len(segs) == 1 || (len(segs) == 2 && segs[1] == "validate"):
		k, ok := kindBySchema(segs[0])
		if !ok {
			writeJSON(w, http.StatusNotFound, message("No entity named '"+segs[0]+"'"))
			return
		}
		if len(segs) == 1 {
			h.only(w, r, http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"fields": entityFields(k)})
			})
			return
		}
		h.only(w, r, http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
			body, err := h.readBody(r, k, "")
			if err == nil {
				_, err = h.build(k, body)
			}
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, message("schema validation successful"))
		})
	default:
		notFound(w)
	}
}

func kindBySchema(name string) (model.Kind, bool) {
	for _, k := range model.Kinds {
		if k.Info().Schema == name {
			return k, true
		}
	}
	return "", false
}

// entityFields describes kind k the way Kong's schema endpoint does, from
// the model's JSON fields and the defaults of model.New.
func entityFields(k model.Kind) []map[string]any {
	e, err := model.New(k)
	if err != nil {
		return nil
	}
	required := requiredFields(k)
	v := reflect.ValueOf(e).Elem()
	var out []map[string]any
	for _, f := range reflect.VisibleFields(v.Type()) {
		name := jsonName(f)
		if f.Anonymous || name == "" || name == shorthands[k] {
			continue
		}
		var d map[string]any
		switch name {
		case "id":
			d = map[string]any{"type": "string", "uuid": true, "auto": true}
		case "created_at", "updated_at":
			d = map[string]any{"type": "integer", "timestamp": true, "auto": true}
		case "tags":
			d = map[string]any{"type": "set", "elements": map[string]any{"type": "string"}}
		default:
			d = describe(k, name, v.FieldByIndex(f.Index))
		}
		if required[name] {
			d["required"] = true
		}
		if desc := descriptions[k][name]; desc != "" {
			d["description"] = desc
		}
		out = append(out, map[string]any{name: d})
	}
	return out
}

// describe is the schema of one field with its default value.
func describe(k model.Kind, name string, v reflect.Value) map[string]any {
	t := v.Type()
	if t == reflect.TypeOf(&model.Ref{}) {
		return map[string]any{"type": "foreign", "reference": string(referenced(k, name))}
	}
	d := map[string]any{"type": typeName(t)}
	base := t
	if base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	switch base.Kind() {
	case reflect.Slice:
		d["elements"] = describe(k, name, reflect.New(base.Elem()).Elem())
	case reflect.Map:
		if base.Elem().Kind() == reflect.Interface {
			return map[string]any{"type": "record"}
		}
		d["keys"] = map[string]any{"type": "string"}
		d["values"] = describe(k, name, reflect.New(base.Elem()).Elem())
	case reflect.Struct:
		var fields []map[string]any
		for i := 0; i < base.NumField(); i++ {
			if n := jsonName(base.Field(i)); n != "" {
				fields = append(fields, map[string]any{n: describe(k, n, v.Field(i))})
			}
		}
		d["fields"] = fields
		return d
	}
	if t.Kind() == reflect.Bool || (t.Kind() != reflect.Pointer && !v.IsZero()) {
		d["default"] = v.Interface()
	}
	return d
}

func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array"
	case reflect.Map:
		return "map"
	case reflect.Struct:
		return "record"
	}
	return "integer"
}

// referenced is the kind a reference field of k points to.
func referenced(k model.Kind, field string) model.Kind {
	if rel, ok := foreignRelation(k, field); ok {
		return rel.parent
	}
	return model.KindCertificate
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// requiredFields are the fields whose absence the model's validation
// reports on an entity with only defaults.
func requiredFields(k model.Kind) map[string]bool {
	out := map[string]bool{}
	e, err := model.New(k)
	if err != nil {
		return out
	}
	var me *model.Error
	if err := e.Validate(); errors.As(err, &me) {
		for f, msg := range me.Fields {
			if s, ok := msg.(string); ok && strings.Contains(s, "required field missing") {
				out[f] = true
			}
		}
	}
	return out
}

// pluginFields describes a plugin the way Kong's plugin schema endpoint does.
func pluginFields(s *pluginschema.Schema) []map[string]any {
	return []map[string]any{
		{"consumer": map[string]any{"type": "foreign", "reference": "consumers"}},
		{"service": map[string]any{"type": "foreign", "reference": "services"}},
		{"route": map[string]any{"type": "foreign", "reference": "routes"}},
		{"protocols": map[string]any{"type": "set", "required": true,
			"default":  model.NewPlugin().Protocols,
			"elements": map[string]any{"type": "string", "one_of": []string{"grpc", "grpcs", "http", "https"}}}},
		{"config": map[string]any{"type": "record", "required": true, "fields": schemaFields(s.Fields)}},
	}
}

func schemaFields(fields []pluginschema.Field) []map[string]any {
	out := make([]map[string]any, 0, len(fields))
	for i := range fields {
		out = append(out, map[string]any{fields[i].Name: schemaField(&fields[i])})
	}
	return out
}

func schemaField(f *pluginschema.Field) map[string]any {
	d := map[string]any{"type": f.Type}
	if f.Required {
		d["required"] = true
	}
	if f.Default != nil {
		d["default"] = f.Default
	}
	if len(f.OneOf) > 0 {
		d["one_of"] = f.OneOf
	}
	if f.Elements != nil {
		d["elements"] = schemaField(f.Elements)
	}
	if f.Fields != nil {
		d["fields"] = schemaFields(f.Fields)
	}
	return d
}
