// Package keyauth is Kong's key-auth plugin: the caller presents an API
// key in a header, the query string or the body, and is identified as the
// consumer owning that key.
package keyauth

import (
	"fmt"
	"net/http"
	"strings"
	"time"

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

var (
	_ plugin.Handler  = (*KeyAuth)(nil)
	_ plugin.Accessor = (*KeyAuth)(nil)
	_ plugin.Reuser   = (*KeyAuth)(nil)
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
		k.keys.Put(cred.Key, owner{consumer: co, cred: cred})
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
	key, dup := k.find(r)
	switch {
	case dup:
		return k.anonymous.Fallback(pc, r, authn.Unauthorized(msgDuplicate, k.challenge))
	case key == "":
		// An empty key is no key (Kong: `if not key or key == ""`), never a
		// lookup that a credential with an empty key could answer.
		return k.anonymous.Fallback(pc, r, authn.Unauthorized(msgNoKey, k.challenge))
	}
	o, ok := k.keys.Get(key)
	if ok && len(k.expires) > 0 {
		if exp, ttl := k.expires[key]; ttl && k.now().Unix() >= exp {
			ok = false
		}
	}
	if !ok {
		return k.anonymous.Fallback(pc, r, authn.Unauthorized(msgInvalid, k.challenge))
	}
	authn.NewIdentity(o.consumer, o.cred, &o.cred.ID).Apply(pc, r)
	return nil
}

// find looks for the key as kong/plugins/key-auth/handler.lua does, name
// by name: in the header, else the query string, else the body. A name
// found once with a string value is the key; found several times
// (Kong's table) it is a duplicate; a value of another kind (a bare
// query flag, a JSON number) passes on to the next name. With
// hide_credentials, the name is then removed from the header, the query
// string and (with key_in_body) the body.
func (k *KeyAuth) find(r *http.Request) (key string, duplicate bool) {
	var query uriargs.Args
	for _, name := range k.conf.KeyNames {
		n := 0
		if k.conf.KeyInHeader {
			vs := headerValues(r.Header, name)
			key, n = first(vs), len(vs)
		}
		if n == 0 && k.conf.KeyInQuery && r.URL.RawQuery != "" {
			if query == nil {
				query = uriargs.Parse(r.URL.RawQuery)
			}
			var flag bool
			key, n, flag = query.Lookup(name)
			if flag {
				n = -1
			}
		}
		if n == 0 && k.conf.KeyInBody {
			var f reqbody.Field
			key, f = reqbody.Lookup(r, name)
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
				k.hide(r, name, query)
			}
			return key, false
		case n > 1:
			return "", true
		}
	}
	return "", false
}

// hide removes the key named name from where it may have come.
func (k *KeyAuth) hide(r *http.Request, name string, query uriargs.Args) {
	if r.URL.RawQuery != "" {
		if query == nil {
			query = uriargs.Parse(r.URL.RawQuery)
		}
		if query.Has(name) {
			r.URL.RawQuery = query.Without(name)
			r.URL.ForceQuery = false
		}
	}
	r.Header.Del(name)
	if strings.Contains(name, "_") {
		r.Header.Del(strings.ReplaceAll(name, "_", "-"))
	}
	if k.conf.KeyInBody {
		reqbody.Remove(r, name)
	}
}

// headerValues returns the values of the header field name; a name with
// underscores also matches the field with dashes, as nginx's header
// table is read by Kong (kong.request.get_headers()[name]).
func headerValues(h http.Header, name string) []string {
	if vs := h.Values(name); len(vs) > 0 || !strings.Contains(name, "_") {
		return vs
	}
	return h.Values(strings.ReplaceAll(name, "_", "-"))
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
