// Package keyauth is Kong's key-auth plugin: the caller presents an API
// key in a header, the query string or the body, and is identified as the
// consumer owning that key.
package keyauth

import (
	"fmt"
	"net/http"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/authn"
	"github.com/skyport-gw/skyport/dataplane/plugins/reqbody"
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
	// Realm is the WWW-Authenticate realm; default "kong".
	Realm *string `json:"realm"`
}

// KeyAuth is the handler built for one plugin instance of one snapshot.
type KeyAuth struct {
	conf      Config
	realm     string
	keys      map[string]credential
	anonymous authn.Anonymous
	now       func() time.Time
}

type credential struct {
	identity *authn.Identity
	expires  int64
}

var (
	_ plugin.Handler  = (*KeyAuth)(nil)
	_ plugin.Accessor = (*KeyAuth)(nil)
)

// New builds the handler: the snapshot's keys indexed once.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building key-auth: %w", err)
	}
	cs := authn.NewConsumers(env.Config)
	k := &KeyAuth{conf: c, keys: make(map[string]credential, len(env.Config.KeyAuths)),
		anonymous: authn.NewAnonymous(cs, c.Anonymous), now: time.Now}
	if c.Realm != nil {
		k.realm = *c.Realm
	}
	for _, cred := range env.Config.KeyAuths {
		co := cs.ByRef(cred.Consumer)
		if co == nil {
			continue
		}
		var exp int64
		if cred.TTL != nil && *cred.TTL > 0 {
			exp = cred.CreatedAt + int64(*cred.TTL)
		}
		k.keys[cred.Key] = credential{identity: authn.NewIdentity(co, cred, cred.ID), expires: exp}
	}
	return k, nil
}

// Name implements plugin.Handler.
func (k *KeyAuth) Name() string { return Name }

// Access implements plugin.Accessor.
func (k *KeyAuth) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	if (!k.conf.RunOnPreflight && authn.IsPreflight(r)) || k.anonymous.AlreadyAuthenticated(pc) {
		return nil
	}
	key, found, dup := k.find(r)
	switch {
	case dup:
		return k.anonymous.Fallback(pc, r, authn.Unauthorized(msgDuplicate, "Key", k.realm))
	case !found || key == "":
		// An empty key is no key (Kong: `if not key or key == ""`), never a
		// lookup that a credential with an empty key could answer.
		return k.anonymous.Fallback(pc, r, authn.Unauthorized(msgNoKey, "Key", k.realm))
	}
	c, ok := k.keys[key]
	if !ok || (c.expires > 0 && k.now().Unix() >= c.expires) {
		return k.anonymous.Fallback(pc, r, authn.Unauthorized(msgInvalid, "Key", k.realm))
	}
	c.identity.Apply(pc, r)
	return nil
}

// find looks for the key, name by name: header, then query, then body.
// It removes what it finds when hide_credentials is on.
func (k *KeyAuth) find(r *http.Request) (key string, found, duplicate bool) {
	for _, name := range k.conf.KeyNames {
		if k.conf.KeyInHeader {
			if vs := r.Header.Values(name); len(vs) > 0 {
				if k.conf.HideCredentials {
					r.Header.Del(name)
				}
				return vs[0], true, len(vs) > 1
			}
		}
		if k.conf.KeyInQuery && r.URL.RawQuery != "" {
			q := r.URL.Query()
			if vs, ok := q[name]; ok {
				if k.conf.HideCredentials {
					q.Del(name)
					r.URL.RawQuery = q.Encode()
				}
				return vs[0], true, len(vs) > 1
			}
		}
		if k.conf.KeyInBody {
			if v, ok := reqbody.Take(r, name, k.conf.HideCredentials); ok {
				return v, true, false
			}
		}
	}
	return "", false, false
}
