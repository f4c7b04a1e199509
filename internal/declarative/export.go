package declarative

import (
	"bytes"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/skyport-gw/skyport/internal/model"
)

// FormatVersion is the _format_version Export writes.
const FormatVersion = "3.0"

// Export writes cfg as a kong.yml document: routes under their service,
// plugins under their one scope, credentials under their consumer,
// targets under their upstream and SNIs under their certificate; lists
// ordered by id; null and empty fields omitted, defaults kept.
func Export(cfg *model.Config) ([]byte, error) {
	doc, err := tree(cfg)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding kong.yml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding kong.yml: %w", err)
	}
	return buf.Bytes(), nil
}

// ExportJSON is Export as indented JSON.
func ExportJSON(cfg *model.Config) ([]byte, error) {
	doc, err := tree(cfg)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding kong.json: %w", err)
	}
	return append(out, '\n'), nil
}

// exporter builds the nested document.
type exporter struct {
	nodes map[string]map[string]any // by "kind/id"
	top   map[string][]any
}

// tree returns the nested document of cfg as plain maps and lists.
func tree(cfg *model.Config) (map[string]any, error) {
	c := cfg.Clone()
	c.Sort()
	x := &exporter{nodes: map[string]map[string]any{}, top: map[string][]any{}}
	var err error
	c.Each(func(e model.Entity) {
		if err == nil {
			err = x.add(e)
		}
	})
	if err != nil {
		return nil, err
	}
	doc := map[string]any{"_format_version": FormatVersion}
	for k, list := range x.top {
		doc[k] = list
	}
	return doc, nil
}

// add places e under its parent when the parent is in the document, at
// the top level otherwise. Config.Each yields parents before children.
func (x *exporter) add(e model.Entity) error {
	m, err := plainMap(e)
	if err != nil {
		return err
	}
	x.nodes[string(e.Kind())+"/"+e.Meta().ID] = m
	key, parentKind, field := placement(e)
	if field != "" {
		ref := refOf(e, field)
		if parent, ok := x.nodes[string(parentKind)+"/"+ref]; ok {
			delete(m, field)
			parent[key] = append(asList(parent[key]), m)
			return nil
		}
	}
	for _, rf := range refFields[e.Kind()] {
		if !rf.list {
			if id := refOf(e, rf.field); id != "" {
				m[rf.field] = id
			}
		}
	}
	x.top[string(e.Kind())] = append(x.top[string(e.Kind())], m)
	return nil
}

// placement says under which parent kind and key e nests, by which of
// its fields; field is empty for entities that stay at the top level.
func placement(e model.Entity) (key string, parent model.Kind, field string) {
	switch v := e.(type) {
	case *model.Route:
		return "routes", model.KindService, "service"
	case *model.Target:
		return "targets", model.KindUpstream, "upstream"
	case *model.SNI:
		return "snis", model.KindCertificate, "certificate"
	case *model.KeyAuth, *model.BasicAuth, *model.JWTSecret, *model.ACL, *model.HMACAuth, *model.OAuth2Credential:
		return string(e.Kind()), model.KindConsumer, "consumer"
	case *model.Key:
		return "keys", model.KindKeySet, "set"
	case *model.Plugin:
		switch {
		case v.Service != nil && v.Route == nil && v.Consumer == nil:
			return "plugins", model.KindService, "service"
		case v.Service == nil && v.Route != nil && v.Consumer == nil:
			return "plugins", model.KindRoute, "route"
		case v.Service == nil && v.Route == nil && v.Consumer != nil:
			return "plugins", model.KindConsumer, "consumer"
		}
	}
	return "", "", ""
}

// refOf returns the id e references through field, or "".
func refOf(e model.Entity, field string) string {
	for _, r := range e.References() {
		if r.Field == field {
			return r.ID
		}
	}
	return ""
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// plainMap returns e's JSON fields as plain values (integers as int64),
// without nulls and empty lists or maps; references are written as ids.
func plainMap(e model.Entity) (map[string]any, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding %s %s: %w", e.Kind(), e.Meta().ID, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("encoding %s %s: %w", e.Kind(), e.Meta().ID, err)
	}
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			delete(m, k)
		case []any:
			if len(t) == 0 {
				delete(m, k)
			}
		case map[string]any:
			if len(t) == 0 && k != "config" {
				delete(m, k)
			}
			if id, ok := t["id"].(string); ok && len(t) == 1 && k != "config" {
				m[k] = id
			}
		}
		if m[k] != nil {
			m[k] = numbers(m[k])
		}
	}
	return m, nil
}

// numbers turns json.Number values into int64 or float64.
func numbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, c := range t {
			t[k] = numbers(c)
		}
	case []any:
		for i, c := range t {
			t[i] = numbers(c)
		}
	}
	return v
}
