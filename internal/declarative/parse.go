package declarative

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/skyport-gw/skyport/internal/model"
)

// FormatVersions are the _format_version values Parse accepts.
var FormatVersions = []string{"3.0", "2.1", "1.1"}

// item is one entity being parsed.
type item struct {
	// list and index place the entity in the document: element index of
	// the list under key list of parent (of the document when parent is
	// nil). Its path is built when needed (path), not kept.
	list string
	e    model.Entity
	refs []pendingRef
	// parent is the enclosing entity of a nested one.
	parent *item
	index  int32
	// section is the position in model.Kinds of the top-level list the
	// entity was read in.
	section int32
	// explicitID is true when the document gave the id.
	explicitID bool
}

// pendingRef is a reference waiting for its target's id.
type pendingRef struct {
	field string
	kind  model.Kind
	value string // id or name; empty when only the parent is known
	// at is the position in a list of references, -1 for a single one.
	at int
	// parent is set when the reference is implied by nesting.
	parent *item
}

// parser holds the state of one Parse.
type parser struct {
	errs  Error
	items map[model.Kind][]*item
	// section is the position in model.Kinds of the top-level list
	// being read.
	section int
}

// Parse reads a kong.yml document (YAML or JSON) and returns the
// normalized configuration, or an *Error listing every problem. The
// document is read a top-level entity at a time (parseStream) unless it
// uses YAML that only a whole reading handles.
func Parse(data []byte) (*model.Config, error) {
	p, err := readStream(data)
	switch {
	case errors.Is(err, errWhole):
		return parseWhole(data)
	case err != nil:
		return nil, err
	}
	// data is not read past here: the caller's last reference to the
	// document (a data plane's kong.yml, tens of MB at a million
	// entities) is collectable while the entities are resolved.
	return p.finish()
}

// parseWhole reads the document into generic values (yaml.v3), then
// makes entities of them.
func parseWhole(data []byte) (*model.Config, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Problems: []Problem{{Message: "failed parsing declarative configuration: " + oneLine(err.Error())}}}
	}
	doc, err := clean(doc)
	if err != nil {
		return nil, &Error{Problems: []Problem{{Message: err.Error()}}}
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, &Error{Problems: []Problem{{Message: "expected an object"}}}
	}
	p := &parser{items: map[model.Kind][]*item{}}
	if !p.header(top) {
		return nil, p.errs.err()
	}
	for i, k := range model.Kinds {
		if raw, ok := top[string(k)]; ok {
			p.section = i
			p.list(raw, k, string(k), nil, "")
		}
	}
	return p.finish()
}

// finish resolves, validates and normalizes the entities read.
func (p *parser) finish() (*model.Config, error) {
	cfg := p.resolve()
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	if err := hashPasswords(cfg); err != nil {
		return nil, err
	}
	cfg.Each(canonical)
	cfg.Sort()
	return cfg, nil
}

// header checks _format_version and the other top-level keys; it returns
// false when the document cannot be read further.
func (p *parser) header(top map[string]any) bool {
	v, ok := top["_format_version"]
	s, isString := v.(string)
	switch {
	case !ok:
		p.errs.add("_format_version", "required field missing")
		return false
	case !isString || !slices.Contains(FormatVersions, s):
		p.errs.add("_format_version", "expected one of: %s", strings.Join(FormatVersions, ", "))
		return false
	}
	if t, ok := top["_transform"]; ok {
		if _, isBool := t.(bool); !isBool {
			p.errs.add("_transform", "expected a boolean")
		}
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case k == "_format_version" || k == "_transform" || k == "_comment" || k == "_workspace":
		case model.Kind(k).Valid():
		default:
			p.errs.add(k, "unknown field")
		}
	}
	return true
}

// list reads a list of entities of kind k found at path.
func (p *parser) list(raw any, k model.Kind, path string, parent *item, parentField string) {
	if raw == nil {
		return
	}
	elems, ok := raw.([]any)
	if !ok {
		p.errs.add(path, "expected an array")
		return
	}
	for i, el := range elems {
		p.element(el, k, path, i, parent, parentField)
	}
}

// element reads element i of a list of entities of kind k found at path.
func (p *parser) element(el any, k model.Kind, path string, i int, parent *item, parentField string) {
	elPath := fmt.Sprintf("%s[%d]", path, i)
	if s, isString := el.(string); isString && k == model.KindSNI && parent != nil {
		el = map[string]any{"name": s}
	}
	m, ok := el.(map[string]any)
	if !ok {
		p.errs.add(elPath, "expected a record")
		return
	}
	p.entity(m, k, elPath, listKey(path), i, parent, parentField)
}

// listKey is the last key of a list's path: "routes" of "services[0].routes".
func listKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// path returns the entity's path: "services[0].routes[1]".
func (it *item) path() string {
	own := it.list + "[" + strconv.Itoa(int(it.index)) + "]"
	if it.parent == nil {
		return own
	}
	return it.parent.path() + "." + own
}

// path returns where the reference is in the document.
func (r pendingRef) path(it *item) string {
	if r.at < 0 {
		return it.path() + "." + r.field
	}
	return fmt.Sprintf("%s.%s[%d]", it.path(), r.field, r.at)
}

// entity reads one entity: its nested children, its references, then
// its own fields over Kong's defaults.
func (p *parser) entity(m map[string]any, k model.Kind, path, list string, index int, parent *item, parentField string) {
	e, _ := model.New(k)
	// int32: a list of 2^31 elements would take a document of over 4 GB
	// (at least two bytes an element); model.Kinds has a few sections.
	it := &item{list: list, index: int32(index), e: e, parent: parent, section: int32(p.section)}
	p.items[k] = append(p.items[k], it)
	for _, c := range children[k] {
		if raw, ok := m[c.key]; ok {
			delete(m, c.key)
			p.list(raw, c.kind, path+"."+c.key, it, c.parent)
		}
	}
	for _, rf := range refFields[k] {
		raw, present := m[rf.field]
		delete(m, rf.field)
		if rf.field == parentField {
			it.refs = append(it.refs, pendingRef{field: rf.field, kind: rf.kind, at: -1, parent: parent})
			if present && raw != nil {
				p.refValue(it, rf, raw, path+"."+rf.field, parent)
			}
			continue
		}
		if present && raw != nil {
			p.refValue(it, rf, raw, path+"."+rf.field, nil)
		}
	}
	known := knownFields[k]
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if !known[key] || (key == "url" && k != model.KindService) {
			p.errs.add(path+"."+key, "unknown field")
			delete(m, key)
		}
	}
	p.decode(m, e, path)
	it.explicitID = e.Meta().ID != ""
}

// refValue records a reference given in the document: a string (id or
// name) or a record {"id": …} or {"name": …}.
func (p *parser) refValue(it *item, rf refField, raw any, path string, parent *item) {
	values := []any{raw}
	if rf.list {
		list, ok := raw.([]any)
		if !ok {
			p.errs.add(path, "expected an array")
			return
		}
		values = list
	}
	for i, v := range values {
		at, idx := path, -1
		if rf.list {
			at, idx = fmt.Sprintf("%s[%d]", path, i), i
		}
		s, ok := refString(v)
		if !ok {
			p.errs.add(at, "expected a string or a record with an 'id' or a 'name'")
			continue
		}
		if parent != nil {
			// The nesting already says which parent; the explicit value
			// must agree with it.
			it.refs[len(it.refs)-1].value = s
			continue
		}
		it.refs = append(it.refs, pendingRef{field: rf.field, kind: rf.kind, value: s, at: idx})
	}
}

func refString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, t != ""
	case map[string]any:
		if len(t) != 1 {
			return "", false
		}
		for _, key := range []string{"id", "name", "username"} {
			if s, ok := t[key].(string); ok && s != "" {
				return s, true
			}
		}
	}
	return "", false
}
