// Package responsetransformer is Kong's response-transformer plugin: it
// rewrites the upstream response's headers and, for JSON responses, the
// top-level keys of its body.
package responsetransformer

import (
	"encoding/json"
	"fmt"
	"mime"
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

// Body implements plugin.BodyFilter.
func (t *Transformer) Body(pc *plugin.Context, h http.Header, body []byte) []byte {
	if t.json.Empty() || !isJSON(h.Get("Content-Type")) {
		return body
	}
	var obj map[string]any
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return body
	}
	t.json.JSON(obj, cast)
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}

func isJSON(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// cast converts a configured value by its json_types entry, as Kong does;
// an untyped value in double quotes loses them.
func cast(p transform.Pair) any {
	switch p.Type {
	case "boolean":
		return p.Value == "true"
	case "number":
		if f, err := strconv.ParseFloat(p.Value, 64); err == nil {
			return f
		}
		return nil
	}
	if len(p.Value) >= 2 && p.Value[0] == '"' && p.Value[len(p.Value)-1] == '"' {
		return p.Value[1 : len(p.Value)-1]
	}
	return p.Value
}
