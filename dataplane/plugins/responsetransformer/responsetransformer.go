// Package responsetransformer is Kong's response-transformer plugin: it
// rewrites the upstream response's headers and, for JSON responses, the
// top-level keys of its body.
package responsetransformer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/transform"
)

// Name is the plugin's name.
const Name = "response-transformer"

// Lists is one operation's entries.
type Lists struct {
	JSON      []string `json:"json"`
	JSONTypes []string `json:"json_types"`
	Headers   []string `json:"headers"`
}

// Config is response-transformer's configuration.
type Config struct {
	Remove  Lists `json:"remove"`
	Rename  Lists `json:"rename"`
	Replace Lists `json:"replace"`
	Add     Lists `json:"add"`
	Append  Lists `json:"append"`
}

// Transformer is the handler built for one plugin instance of one
// snapshot.
type Transformer struct {
	headers, json transform.Ops
	// onView: the response phases run on the view (ResponseOnView).
	onView bool
}

var (
	_ plugin.Handler        = (*Transformer)(nil)
	_ plugin.HeaderFilter   = (*Transformer)(nil)
	_ plugin.BodyFilter     = (*Transformer)(nil)
	_ plugin.Viewer         = (*Transformer)(nil)
	_ plugin.ResponseViewer = (*Transformer)(nil)
)

// New builds the handler.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building response-transformer: %w", err)
	}
	typed := func(l Lists) []transform.Pair {
		ps := transform.Pairs(l.JSON)
		for i := range ps {
			if i < len(l.JSONTypes) {
				ps[i].Type = l.JSONTypes[i]
			}
		}
		return ps
	}
	t := &Transformer{
		headers: transform.Ops{Remove: transform.Names(c.Remove.Headers), Rename: transform.Pairs(c.Rename.Headers),
			Replace: transform.Pairs(c.Replace.Headers), Add: transform.Pairs(c.Add.Headers), Append: transform.Pairs(c.Append.Headers)},
		json: transform.Ops{Remove: transform.Names(c.Remove.JSON), Rename: transform.Pairs(c.Rename.JSON),
			Replace: typed(c.Replace), Add: typed(c.Add), Append: typed(c.Append)},
	}
	canonical(&t.headers)
	t.onView = t.json.Empty() && headersOnView(&t.headers)
	return t, nil
}

// canonical puts the header operations' names in net/http's canonical
// form, once: the map canonicalizes them on every call, the view uses
// them as they are.
func canonical(o *transform.Ops) {
	for i, n := range o.Remove {
		o.Remove[i] = textproto.CanonicalMIMEHeaderKey(n)
	}
	for _, ps := range [][]transform.Pair{o.Rename, o.Replace, o.Add, o.Append} {
		for i := range ps {
			ps[i].Name = textproto.CanonicalMIMEHeaderKey(ps[i].Name)
		}
	}
	for i := range o.Rename {
		o.Rename[i].Value = textproto.CanonicalMIMEHeaderKey(o.Rename[i].Value)
	}
}

// headersOnView reports whether the header operations o run on the
// view: those that read a field (rename, replace, add) read none the
// view lacks, and none changes a field that frames the body or the
// connection.
func headersOnView(o *transform.Ops) bool {
	for _, ps := range [][]transform.Pair{o.Rename, o.Replace, o.Add} {
		for _, p := range ps {
			if !plugin.ViewReadable(p.Name) {
				return false
			}
		}
	}
	for _, p := range o.Append {
		if !plugin.ViewWritable(p.Name) {
			return false
		}
	}
	for _, p := range o.Rename {
		if !plugin.ViewWritable(p.Value) {
			return false
		}
	}
	for _, n := range o.Remove {
		if !plugin.ViewWritable(n) {
			return false
		}
	}
	return true
}

// Name implements plugin.Handler.
func (t *Transformer) Name() string { return Name }

// OnView implements plugin.Viewer: the header and body filters read the
// response only.
func (t *Transformer) OnView() bool { return true }

// ResponseOnView implements plugin.ResponseViewer: without json
// operations, and with header operations on fields the view holds, the
// response is relayed as a view (HeaderView); else through the map.
func (t *Transformer) ResponseOnView() bool { return t.onView }

// HeaderView implements plugin.ViewHeaderFilter: Header's operations on
// the response's view, for an instance ResponseOnView accepted.
func (t *Transformer) HeaderView(pc *plugin.Context, _ int) {
	transformHeaders(&t.headers, pc.ResponseView())
}

// transformHeaders applies the header operations o to h as Kong's
// header_transformer.lua does: remove, rename, replace, add, append,
// each condition read on the fields as they were before any of them
// (the handler passes kong.response.get_headers(), a copy taken once):
// a field removed is still renamed or replaced, one renamed onto is not
// replaced, nor is one added that was there. A rename without a new
// name, a replace or add without a value, does nothing; a rename onto
// the same name (any case) sets then clears it, which removes it.
func transformHeaders[F plugin.Fields](o *transform.Ops, h F) {
	var vb [4][]string
	var pb [16]bool
	renamed, present := vb[:0], pb[:0]
	for _, p := range o.Rename {
		renamed = append(renamed, h.Values(p.Name))
	}
	for _, p := range o.Replace {
		present = append(present, h.Has(p.Name))
	}
	for _, p := range o.Add {
		present = append(present, h.Has(p.Name))
	}
	for _, n := range o.Remove {
		h.Del(n)
	}
	for i, p := range o.Rename {
		if len(renamed[i]) == 0 || p.Value == "" {
			continue
		}
		h.Del(p.Value)
		for _, v := range renamed[i] {
			h.Add(p.Value, v)
		}
		h.Del(p.Name)
	}
	for i, p := range o.Replace {
		if present[i] && p.Value != "" {
			h.Set(p.Name, p.Value)
		}
	}
	present = present[len(o.Replace):]
	for i, p := range o.Add {
		if !present[i] && p.Value != "" {
			h.Set(p.Name, p.Value)
		}
	}
	for _, p := range o.Append {
		h.Add(p.Name, p.Value)
	}
}

// Header implements plugin.HeaderFilter. A body about to be rewritten
// loses its Content-Length.
func (t *Transformer) Header(pc *plugin.Context, status int, h http.Header) {
	transformHeaders(&t.headers, plugin.HeaderFields(h))
	if t.NeedsBody(pc, status, h) {
		h.Del("Content-Length")
	}
}

// NeedsBody implements plugin.BodyFilter: only JSON responses, and only
// when a json operation is configured.
func (t *Transformer) NeedsBody(_ *plugin.Context, _ int, h http.Header) bool {
	return !t.json.Empty() && isJSON(h.Get("Content-Type"))
}

// Body implements plugin.BodyFilter: Kong's transform_json_body
// (body_transformer.lua). A body that is not a JSON object is left as
// it is.
func (t *Transformer) Body(pc *plugin.Context, h http.Header, body []byte) []byte {
	if t.json.Empty() || !isJSON(h.Get("Content-Type")) {
		return body
	}
	var obj map[string]any
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return body
	}
	transformJSON(&t.json, obj)
	out, err := encodeJSON(obj)
	if err != nil {
		return body
	}
	return out
}

// encodeJSON is v as cjson writes it: json.Marshal without escaping
// '<', '>' and '&'.
func encodeJSON(v any) ([]byte, error) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// transformJSON applies the json operations o to obj as Kong's
// transform_json_body does, with Lua's truthiness: replace sets a
// member whose value is neither absent nor false (null is a value),
// add one that is absent or false; a rename without a new name does
// nothing, a rename onto the same name sets then clears it, which
// removes it.
func transformJSON(o *transform.Ops, obj map[string]any) {
	truthy := func(name string) bool {
		v, ok := obj[name]
		return ok && v != false
	}
	for _, n := range o.Remove {
		delete(obj, n)
	}
	for _, p := range o.Rename {
		if v, ok := obj[p.Name]; ok && p.Value != "" {
			obj[p.Value] = v
			delete(obj, p.Name)
		}
	}
	for _, p := range o.Replace {
		if v := jsonValue(p); v != nil && truthy(p.Name) {
			obj[p.Name] = v
		}
	}
	for _, p := range o.Add {
		if v := jsonValue(p); v != nil && !truthy(p.Name) {
			obj[p.Name] = v
		}
	}
	for _, p := range o.Append {
		if v := jsonValue(p); v != nil {
			obj[p.Name] = transform.AppendValue(obj[p.Name], v)
		}
	}
}

// isJSON is Kong's is_json_body (header_transformer.lua): one of the
// comma-separated media types is application/json or application/*+json
// (kong/tools/mime_type.lua's includes); a media type that does not
// parse whole counts for nothing.
func isJSON(ct string) bool {
	for _, mt := range strings.Split(ct, ",") {
		typ, sub, ok := parseMediaType(strings.TrimSpace(mt))
		if ok && typ == "application" && (sub == "json" || strings.HasSuffix(sub, "+json")) {
			return true
		}
	}
	return false
}

// parseMediaType is kong/tools/mime_type.lua's parse_mime_type: type
// "/" subtype (tokens, lowercased), then parameters ";" attribute "="
// (token or quoted string), spaces and tabs allowed around ";" only;
// ok is false unless all of s parses.
func parseMediaType(s string) (typ, sub string, ok bool) {
	typ, s = cutToken(s)
	if typ == "" || !strings.HasPrefix(s, "/") {
		return "", "", false
	}
	sub, s = cutToken(s[1:])
	if sub == "" {
		return "", "", false
	}
	for s != "" {
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ";") {
			return "", "", false
		}
		s = strings.TrimLeft(s[1:], " \t")
		var attr string
		if attr, s = cutToken(s); attr == "" || !strings.HasPrefix(s, "=") {
			return "", "", false
		}
		s = s[1:]
		if val, rest := cutToken(s); val != "" {
			s = rest
			continue
		}
		if s, ok = cutQuoted(s); !ok {
			return "", "", false
		}
	}
	return strings.ToLower(typ), strings.ToLower(sub), true
}

// cutToken splits s after its leading RFC 2045 token (ASCII, no
// controls, no separators).
func cutToken(s string) (token, rest string) {
	i := 0
	for i < len(s) && s[i] > ' ' && s[i] < 0x7f && !strings.ContainsRune("()<>@,;:\\\"/[]?={}", rune(s[i])) {
		i++
	}
	return s[:i], s[i:]
}

// cutQuoted returns what follows s's leading quoted string, ok false
// when s does not start with a whole one. As Kong's grammar runs, a
// backslash is a character like another (its quoted_pair is never
// reached).
func cutQuoted(s string) (rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return s, false
	}
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '"':
			return s[i+1:], true
		case s[i] < ' ' || s[i] == 0x7f:
			return s, false
		}
	}
	return s, false
}

// jsonValue is Kong's json_value: the configured value as cjson encodes
// a string, its quotes and the escapes of quotes and slashes taken
// off (so a value in double quotes keeps them, a backslash is doubled),
// then cast by its json_types entry: number (Lua's tonumber, nil when
// it does not parse: the entry is skipped), boolean (true for "true"
// only), else the string. An empty value is Lua's nil, which cjson
// encodes as null: the string "null" before the cast.
func jsonValue(p transform.Pair) any {
	v := "null"
	if p.Value != "" {
		b, _ := encodeJSON(p.Value) // a string always encodes
		v = strings.ReplaceAll(string(b[1:len(b)-1]), `\"`, `"`)
	}
	switch p.Type {
	case "boolean":
		return v == "true"
	case "number":
		if f, ok := luaNumber(v); ok {
			return f
		}
		return nil
	}
	return v
}

// luaNumber is Lua's tonumber on a string: a decimal or hexadecimal
// number, spaces around it allowed (no digit separators, unlike Go's).
func luaNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "_") {
		return 0, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return f, true
	}
	digits := strings.TrimPrefix(s, "-")
	if !strings.HasPrefix(digits, "0x") && !strings.HasPrefix(digits, "0X") {
		return 0, false
	}
	i, err := strconv.ParseInt(s, 0, 64)
	return float64(i), err == nil
}
