// Package keyauth is Kong's key-auth plugin: the caller presents an API
// key in a header, the query string or the body, and is identified as the
// consumer owning that key.
package keyauth

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unsafe"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/authn"
	"github.com/skyport-gw/skyport/dataplane/plugins/reqbody"
	"github.com/skyport-gw/skyport/dataplane/plugins/uriargs"
	"github.com/skyport-gw/skyport/internal/model"
)

// Name is the plugin's name.
const Name = "key-auth"

// Kong's messages (kong/plugins/key-auth/handler.lua).
const (
	msgNoKey     = "No API key found in request"
	msgInvalid   = "Unauthorized"
	msgDuplicate = "Duplicate API key found"
)

// Config is key-auth's configuration (defaults from the shared schema).
type Config struct {
	// KeyNames are the header, query and body field names that carry the
	// key; default ["apikey"].
	KeyNames []string `json:"key_names"`
	// HideCredentials removes the key before proxying.
	HideCredentials bool `json:"hide_credentials"`
	// Anonymous is a consumer id or username used when authentication
	// fails.
	Anonymous *string `json:"anonymous"`
	// KeyInHeader, KeyInQuery and KeyInBody say where keys are looked for.
	KeyInHeader bool `json:"key_in_header"`
	KeyInQuery  bool `json:"key_in_query"`
	KeyInBody   bool `json:"key_in_body"`
	// RunOnPreflight authenticates OPTIONS requests too; default true.
	RunOnPreflight bool `json:"run_on_preflight"`
	// Realm, when set, is the realm of the WWW-Authenticate challenge
	// (`Key realm="…"`); without it the challenge is `Key`.
	Realm *string `json:"realm"`
}

// KeyAuth is the handler built for one plugin instance of one snapshot.
type KeyAuth struct {
	// from is what the index was built from (plugin.Reuser).
	from      authn.Indexed[*model.KeyAuth]
	conf      Config
	challenge string
	// keys holds each key's credential and consumer (two words, no
	// allocation per key) in a table half a map's size; the identity is
	// made from them per request, on the stack.
	keys *authn.Table[owner]
	// expires holds the expiry (Unix seconds) of the keys that have a
	// ttl, a few of them at most where keys number in the hundreds of
	// thousands.
	expires   map[string]int64
	anonymous authn.Anonymous
	now       func() time.Time
}

// owner is a key's credential and the consumer it belongs to.
type owner struct {
	consumer *model.Consumer
	cred     *model.KeyAuth
}

// Key implements authn.Keyed: the table reads the key from the credential.
func (o owner) Key() string { return o.cred.Key }

var (
	_ plugin.Handler      = (*KeyAuth)(nil)
	_ plugin.Accessor     = (*KeyAuth)(nil)
	_ plugin.ViewAccessor = (*KeyAuth)(nil)
	_ plugin.Reuser       = (*KeyAuth)(nil)
)

// New builds the handler: the snapshot's keys indexed once.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building key-auth: %w", err)
	}
	cs := authn.NewConsumers(env.Config)
	k := &KeyAuth{conf: c, keys: authn.NewTable[owner](len(env.Config.KeyAuths)),
		anonymous: authn.NewAnonymous(cs, c.Anonymous), now: time.Now,
		challenge: authn.Challenge("Key", c.Realm)}
	for _, cred := range env.Config.KeyAuths {
		co := cs.ByRef(cred.Consumer)
		if co == nil {
			continue
		}
		if cred.TTL != nil && *cred.TTL > 0 {
			if k.expires == nil {
				k.expires = map[string]int64{}
			}
			k.expires[cred.Key] = cred.CreatedAt + int64(*cred.TTL)
		} else if k.expires != nil {
			delete(k.expires, cred.Key) // a later credential of the same key
		}
		k.keys.Put(owner{consumer: co, cred: cred})
	}
	k.from = authn.NewIndexed(env.Config.KeyAuths, env.Config)
	return k, nil
}

// Name implements plugin.Handler.
func (k *KeyAuth) Name() string { return Name }

// Reusable implements plugin.Reuser: the same credentials and consumers.
func (k *KeyAuth) Reusable(env plugin.Env) bool {
	return k.from.Unchanged(env.Config.KeyAuths, env.Config)
}

// Access implements plugin.Accessor.
func (k *KeyAuth) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	if (!k.conf.RunOnPreflight && authn.IsPreflight(r)) || k.anonymous.AlreadyAuthenticated(pc) {
		return nil
	}
	o, fail := identify(k, httpRequest{r})
	if fail != nil {
		return k.anonymous.Fallback(pc, r, fail)
	}
	authn.NewIdentity(o.consumer, o.cred, &o.cred.ID).Apply(pc, r)
	return nil
}

// OnView implements plugin.ViewAccessor: keys in the body are read from
// the adapted request only.
func (k *KeyAuth) OnView() bool { return !k.conf.KeyInBody }

// AccessView implements plugin.ViewAccessor.
func (k *KeyAuth) AccessView(pc *plugin.Context, r exchange.Request) *plugin.Response {
	if (!k.conf.RunOnPreflight && authn.IsPreflightView(r)) || k.anonymous.AlreadyAuthenticated(pc) {
		return nil
	}
	o, fail := identify(k, viewRequest{r: r, pc: pc})
	if fail != nil {
		return k.anonymous.FallbackView(pc, r.Header(), fail)
	}
	authn.NewIdentity(o.consumer, o.cred, &o.cred.ID).ApplyView(pc, r.Header())
	return nil
}

// identify is both access phases' decision: the owner of the valid key
// found in r, or fail, the answer without the anonymous consumer.
func identify[R request](k *KeyAuth, r R) (o owner, fail *plugin.Response) {
	key, dup := find(k, r)
	switch {
	case dup:
		return o, authn.Unauthorized(msgDuplicate, k.challenge)
	case key == "":
		// An empty key is no key (Kong: `if not key or key == ""`), never a
		// lookup that a credential with an empty key could answer.
		return o, authn.Unauthorized(msgNoKey, k.challenge)
	}
	o, ok := k.keys.Get(key)
	if ok && len(k.expires) > 0 {
		if exp, ttl := k.expires[key]; ttl && k.now().Unix() >= exp {
			ok = false
		}
	}
	if !ok {
		return o, authn.Unauthorized(msgInvalid, k.challenge)
	}
	return o, nil
}

// find looks for the key as kong/plugins/key-auth/handler.lua does, name
// by name: in the header, else the query string, else the body. A name
// found once with a string value is the key; found several times
// (Kong's table) it is a duplicate; a value of another kind (a bare
// query flag, a JSON number) passes on to the next name. With
// hide_credentials, the name is then removed from the header, the query
// string and (with key_in_body) the body.
func find[R request](k *KeyAuth, r R) (key string, duplicate bool) {
	var query uriargs.Args
	for _, name := range k.conf.KeyNames {
		n := 0
		if k.conf.KeyInHeader {
			key, n = headerValue(r, name)
		}
		if n == 0 && k.conf.KeyInQuery && query == nil {
			query = uriargs.Parse(r.rawQuery())
		}
		if n == 0 && k.conf.KeyInQuery {
			var flag bool
			key, n, flag = query.Lookup(name)
			if flag {
				n = -1
			}
		}
		if n == 0 && k.conf.KeyInBody {
			var f reqbody.Field
			key, f = r.body(name)
			switch f {
			case reqbody.String:
				n = 1
			case reqbody.Multiple:
				n = 2
			}
		}
		switch {
		case n == 1:
			if k.conf.HideCredentials {
				key = r.own(key)
				hide(k, r, name, query)
			}
			return key, false
		case n > 1:
			return "", true
		}
	}
	return "", false
}

// hide removes the key named name from where it may have come.
func hide[R request](k *KeyAuth, r R, name string, query uriargs.Args) {
	if raw := r.rawQuery(); raw != "" {
		if query == nil {
			query = uriargs.Parse(raw)
		}
		if query.Has(name) {
			r.setQuery(query.Without(name))
		}
	}
	r.delHeader(name)
	if strings.Contains(name, "_") {
		r.delHeader(strings.ReplaceAll(name, "_", "-"))
	}
	if k.conf.KeyInBody {
		r.removeBody(name)
	}
}

// headerValue returns the first value of the header field name and how
// many there are; a name with underscores also matches the field with
// dashes, as nginx's header table is read by Kong
// (kong.request.get_headers()[name]).
func headerValue[R request](r R, name string) (string, int) {
	if v, n := r.header(name); n > 0 || !strings.Contains(name, "_") {
		return v, n
	}
	return r.header(strings.ReplaceAll(name, "_", "-"))
}

// request is what find reads a key from and hide removes it from: the
// adapted request (httpRequest) or the view (viewRequest).
type request interface {
	// header is the first value of the field name and how many there are;
	// on the view, first shares the request's bytes: only as good as
	// long as the field is there.
	header(name string) (first string, n int)
	// own is the key found by header, a string of its own (what hide's
	// changes to the fields leave as it is).
	own(key string) string
	// rawQuery is the query without "?"; setQuery replaces the query the
	// upstream gets.
	rawQuery() string
	setQuery(q string)
	delHeader(name string)
	// body and removeBody read and change the body's form, JSON or
	// multipart fields.
	body(name string) (string, reqbody.Field)
	removeBody(name string)
}

type httpRequest struct{ r *http.Request }

func (h httpRequest) own(key string) string { return key }

func (h httpRequest) header(name string) (string, int) {
	vs := h.r.Header.Values(name)
	if len(vs) == 0 {
		return "", 0
	}
	return vs[0], len(vs)
}

func (h httpRequest) rawQuery() string { return h.r.URL.RawQuery }

func (h httpRequest) setQuery(q string) { h.r.URL.RawQuery, h.r.URL.ForceQuery = q, false }

func (h httpRequest) delHeader(name string) { h.r.Header.Del(name) }

func (h httpRequest) body(name string) (string, reqbody.Field) { return reqbody.Lookup(h.r, name) }

func (h httpRequest) removeBody(name string) { reqbody.Remove(h.r, name) }

// viewRequest is the view; its query changes go to the upstream through
// pc. The body is never read on the view (OnView is false with
// key_in_body): body finds nothing there, removeBody has nothing to do.
type viewRequest struct {
	r  exchange.Request
	pc *plugin.Context
}

func (v viewRequest) header(name string) (first string, n int) {
	h := v.r.Header()
	for i := range h.Len() {
		if f, value := h.At(i); exchange.FieldNameIs(f, name) {
			if n == 0 && len(value) > 0 {
				// Read for the lookup only (no copy per request), never
				// kept: identify is done with it before the view's
				// fields change but hide's.
				first = unsafe.String(&value[0], len(value))
			}
			n++
		}
	}
	return first, n
}

func (v viewRequest) own(key string) string { return strings.Clone(key) }

func (v viewRequest) rawQuery() string { return v.pc.ViewQuery(v.r) }

func (v viewRequest) setQuery(q string) { v.pc.SetUpstreamQuery(q) }

func (v viewRequest) delHeader(name string) { v.r.Header().Del(name) }

func (v viewRequest) body(string) (string, reqbody.Field) { return "", reqbody.Absent }

func (v viewRequest) removeBody(string) {}
