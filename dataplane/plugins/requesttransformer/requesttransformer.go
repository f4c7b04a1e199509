// Package requesttransformer is Kong's request-transformer plugin: it
// rewrites the request's method, path, headers, query string and form or
// JSON body before it is proxied.
package requesttransformer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/reqbody"
	"github.com/skyport-gw/skyport/dataplane/plugins/transform"
)

// Name is the plugin's name.
const Name = "request-transformer"

// Lists is one operation's entries per target.
type Lists struct {
	Body        []string `json:"body"`
	Headers     []string `json:"headers"`
	Querystring []string `json:"querystring"`
}

// Config is request-transformer's configuration.
type Config struct {
	// HTTPMethod replaces the request method.
	HTTPMethod *string `json:"http_method"`
	// Remove lists names; Rename "old:new"; Replace, Add and Append
	// "name:value".
	Remove  Lists `json:"remove"`
	Rename  Lists `json:"rename"`
	Replace struct {
		Lists
		// URI replaces the upstream path.
		URI *string `json:"uri"`
	} `json:"replace"`
	Add    Lists `json:"add"`
	Append Lists `json:"append"`
}

// Transformer is the handler built for one plugin instance of one
// snapshot, its pairs parsed once.
type Transformer struct {
	method               string
	uri                  string
	headers, query, body transform.Ops
}

var (
	_ plugin.Handler      = (*Transformer)(nil)
	_ plugin.Accessor     = (*Transformer)(nil)
	_ plugin.ViewAccessor = (*Transformer)(nil)
)

// New builds the handler.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building request-transformer: %w", err)
	}
	t := &Transformer{}
	if c.HTTPMethod != nil {
		t.method = *c.HTTPMethod
	}
	if c.Replace.URI != nil {
		t.uri = *c.Replace.URI
	}
	ops := func(pick func(*Lists) []string) transform.Ops {
		return transform.Ops{
			Remove:  transform.Names(pick(&c.Remove)),
			Rename:  transform.Pairs(pick(&c.Rename)),
			Replace: transform.Pairs(pick(&c.Replace.Lists)),
			Add:     transform.Pairs(pick(&c.Add)),
			Append:  transform.Pairs(pick(&c.Append)),
		}
	}
	t.headers = ops(func(l *Lists) []string { return l.Headers })
	t.query = ops(func(l *Lists) []string { return l.Querystring })
	t.body = ops(func(l *Lists) []string { return l.Body })
	return t, nil
}

// Name implements plugin.Handler.
func (t *Transformer) Name() string { return Name }

// Access implements plugin.Accessor, in Kong's order: method, headers,
// query string, body, path. Templated values are rendered from the
// request as it arrived, before any change.
func (t *Transformer) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	return access(t, pc, httpRequest{plugin.HeaderFields(r.Header), r})
}

// OnView implements plugin.ViewAccessor: without a method or body to
// change (the view's request has no body and keeps its method), and
// without an operation on Host (which the adapted request keeps apart
// from its fields).
func (t *Transformer) OnView() bool {
	if t.method != "" || !t.body.Empty() {
		return false
	}
	names := slices.Concat(t.headers.Remove)
	for _, ps := range [][]transform.Pair{t.headers.Rename, t.headers.Replace, t.headers.Add, t.headers.Append} {
		for _, p := range ps {
			names = append(names, p.Name, p.Value)
		}
	}
	for _, n := range names {
		if strings.EqualFold(n, "Host") {
			return false
		}
	}
	return true
}

// AccessView implements plugin.ViewAccessor.
func (t *Transformer) AccessView(pc *plugin.Context, r exchange.Request) *plugin.Response {
	return access(t, pc, viewRequest{plugin.ViewFields{H: r.Header()}, r, pc})
}

// access is both access phases.
func access[R request](t *Transformer, pc *plugin.Context, r R) *plugin.Response {
	headers, query, body := renderOps(&t.headers, pc, r), renderOps(&t.query, pc, r), renderOps(&t.body, pc, r)
	uri := t.uri
	if isTemplate(uri) {
		uri = render(uri, pc, r)
	}
	if t.method != "" {
		r.setMethod(t.method)
	}
	transform.Fields(headers, r)
	if raw := r.rawQuery(); !query.Empty() {
		if q := query.Query(raw); q != raw {
			r.setQuery(q)
		}
	}
	if !body.Empty() {
		r.transformBody(body)
	}
	if uri != "" {
		pc.UpstreamPath = uri
	}
	return nil
}

// request is what access reads and changes: the adapted request
// (httpRequest) or the view (viewRequest).
type request interface {
	plugin.Fields
	// header is the first value of the field name as Kong's
	// kong.request.get_header reads it: Host included, which the adapted
	// request keeps apart from its fields.
	header(name string) string
	// rawQuery is the query without "?"; setQuery replaces the query the
	// upstream gets.
	rawQuery() string
	setQuery(q string)
	// setMethod and transformBody change the method and the body, on
	// the adapted request only (OnView is false when either changes).
	setMethod(m string)
	transformBody(ops *transform.Ops)
}

type httpRequest struct {
	plugin.HeaderFields
	r *http.Request
}

func (h httpRequest) header(name string) string {
	if strings.EqualFold(name, "Host") {
		return h.r.Host
	}
	return h.Get(name)
}

func (h httpRequest) rawQuery() string                 { return h.r.URL.RawQuery }
func (h httpRequest) setQuery(q string)                { h.r.URL.RawQuery = q }
func (h httpRequest) setMethod(m string)               { h.r.Method = m }
func (h httpRequest) transformBody(ops *transform.Ops) { transformBody(ops, h.r) }

// viewRequest is the view; its query changes go to the upstream through
// pc.
type viewRequest struct {
	plugin.ViewFields
	r  exchange.Request
	pc *plugin.Context
}

func (v viewRequest) rawQuery() string { return v.pc.ViewQuery(v.r) }

func (v viewRequest) header(name string) string { return v.Get(name) }

func (v viewRequest) setQuery(q string) { v.pc.SetUpstreamQuery(q) }

func (v viewRequest) setMethod(string)             {}
func (v viewRequest) transformBody(*transform.Ops) {}

// transformBody rewrites a form, JSON or multipart body; other bodies
// pass through.
func transformBody(ops *transform.Ops, r *http.Request) {
	kind := reqbody.KindOf(r)
	switch kind {
	case reqbody.Other:
		return
	case reqbody.Multipart:
		if m, ok := reqbody.ReadParts(r); ok && transformParts(ops, m) {
			reqbody.Replace(r, m.Bytes())
		}
		return
	}
	b, err := reqbody.Read(r)
	if err != nil {
		return
	}
	switch kind {
	case reqbody.Form:
		vals, err := url.ParseQuery(string(b))
		if err != nil {
			return
		}
		ops.Form(vals)
		reqbody.Replace(r, []byte(vals.Encode()))
	case reqbody.JSON:
		obj := map[string]any{}
		if len(b) > 0 && json.Unmarshal(b, &obj) != nil {
			return
		}
		ops.JSON(obj, func(p transform.Pair) any { return p.Value })
		if nb, err := json.Marshal(obj); err == nil {
			reqbody.Replace(r, nb)
		}
	}
}

// transformParts applies the operations to a multipart body as Kong's
// transform_multipart_body does (request-transformer's access.lua):
// rename, then remove, replace and add, through lua-multipart's
// set_simple (Parts.Set); append does nothing to a multipart body. It
// reports whether anything changed.
func transformParts(ops *transform.Ops, m *reqbody.Parts) bool {
	changed := false
	for _, p := range ops.Rename {
		if v, f := m.First(p.Name); f && p.Name != p.Value {
			changed = m.Set(p.Value, v) && m.Delete(p.Name) || changed
		}
	}
	for _, n := range ops.Remove {
		changed = m.Delete(n) || changed
	}
	for _, p := range ops.Replace {
		if m.Has(p.Name) {
			m.Delete(p.Name)
			m.Set(p.Name, p.Value)
			changed = true
		}
	}
	for _, p := range ops.Add {
		if !m.Has(p.Name) {
			changed = m.Set(p.Name, p.Value) || changed
		}
	}
	return changed
}
