// Package basicauth is Kong's basic-auth plugin: the caller presents a
// username and password (HTTP Basic) and is identified as the consumer
// owning that credential.
package basicauth

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/authn"
	"github.com/skyport-gw/skyport/internal/model"
)

// Name is the plugin's name.
const Name = "basic-auth"

// msgUnauthorized is Kong's answer to every failed authentication
// (kong/plugins/basic-auth/access.lua).
const msgUnauthorized = "Unauthorized"

// defaultRealm is the default of basic-auth's realm
// (kong/plugins/basic-auth/schema.lua).
const defaultRealm = "service"

// Config is basic-auth's configuration.
type Config struct {
	// Anonymous is a consumer id or username used when authentication
	// fails.
	Anonymous *string `json:"anonymous"`
	// HideCredentials removes the Authorization header before proxying.
	HideCredentials bool `json:"hide_credentials"`
	// Realm is the realm of the WWW-Authenticate challenge
	// (`Basic realm="…"`); Kong's schema defaults it to "service".
	Realm *string `json:"realm"`
}

// BasicAuth is the handler built for one plugin instance of one snapshot.
// Successful verifications are remembered (keyed by a digest of the
// username and password, never the password itself) so that bcrypt runs
// once per credential and snapshot, not on every request.
type BasicAuth struct {
	// from is what the index was built from (plugin.Reuser).
	from      authn.Indexed[*model.BasicAuth]
	conf      Config
	challenge string
	// users holds each username's credential and consumer (two words,
	// no allocation per credential) in a table half a map's size.
	users     *authn.Table[credential]
	anonymous authn.Anonymous
	verified  sync.Map // [sha256.Size]byte → credential
}

// credential is a basic-auth credential and the consumer it belongs to.
type credential struct {
	cred     *model.BasicAuth
	consumer *model.Consumer
}

// Key implements authn.Keyed: the table reads the username from the
// credential.
func (c credential) Key() string { return c.cred.Username }

var (
	_ plugin.Handler      = (*BasicAuth)(nil)
	_ plugin.Accessor     = (*BasicAuth)(nil)
	_ plugin.ViewAccessor = (*BasicAuth)(nil)
	_ plugin.Reuser       = (*BasicAuth)(nil)
)

// New builds the handler: the snapshot's credentials indexed by username.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building basic-auth: %w", err)
	}
	cs := authn.NewConsumers(env.Config)
	b := &BasicAuth{conf: c, users: authn.NewTable[credential](len(env.Config.BasicAuths)),
		anonymous: authn.NewAnonymous(cs, c.Anonymous)}
	realm := defaultRealm
	if c.Realm != nil {
		realm = *c.Realm
	}
	b.challenge = authn.Challenge("Basic", &realm)
	for _, cred := range env.Config.BasicAuths {
		if co := cs.ByRef(cred.Consumer); co != nil {
			b.users.Put(credential{cred: cred, consumer: co})
		}
	}
	b.from = authn.NewIndexed(env.Config.BasicAuths, env.Config)
	return b, nil
}

// Name implements plugin.Handler.
func (b *BasicAuth) Name() string { return Name }

// Reusable implements plugin.Reuser: the same credentials and consumers.
func (b *BasicAuth) Reusable(env plugin.Env) bool {
	return b.from.Unchanged(env.Config.BasicAuths, env.Config)
}

// Access implements plugin.Accessor. As Kong's access.lua does, the
// credentials in Proxy-Authorization are tried first, then those in
// Authorization only when the first name no known username: a known one
// with a wrong password is refused.
func (b *BasicAuth) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	return access(b, pc, httpRequest{plugin.HeaderFields(r.Header), r})
}

// OnView implements plugin.ViewAccessor: basic-auth reads fields only.
func (b *BasicAuth) OnView() bool { return true }

// AccessView implements plugin.ViewAccessor.
func (b *BasicAuth) AccessView(pc *plugin.Context, r exchange.Request) *plugin.Response {
	return access(b, pc, viewRequest{plugin.ViewFields{H: r.Header()}})
}

// access is both access phases, in the order of Kong's
// do_authentication: each header read is removed with hide_credentials.
func access[R request](b *BasicAuth, pc *plugin.Context, r R) *plugin.Response {
	if b.anonymous.AlreadyAuthenticated(pc) {
		return nil
	}
	fail := authn.Unauthorized(msgUnauthorized, b.challenge)
	proxyAuth, auth := r.Get("Proxy-Authorization"), r.Get("Authorization")
	if proxyAuth == "" && auth == "" {
		return r.fallback(pc, b.anonymous, fail)
	}
	c, raw, pass, found := b.lookup(r, "Proxy-Authorization", proxyAuth)
	if !found {
		if c, raw, pass, found = b.lookup(r, "Authorization", auth); !found {
			return r.fallback(pc, b.anonymous, fail)
		}
	}
	if !b.check(c, raw, pass) {
		return r.fallback(pc, b.anonymous, fail)
	}
	r.apply(pc, authn.NewIdentity(c.consumer, c.cred, &c.cred.Username))
	return nil
}

// lookup reads header's credentials (value, removed with
// hide_credentials) and finds the credential of their username.
func (b *BasicAuth) lookup(r request, header, value string) (c credential, raw []byte, pass string, found bool) {
	if b.conf.HideCredentials && value != "" {
		r.Del(header)
	}
	raw, user, pass, ok := parseBasic(value)
	if !ok {
		return credential{}, nil, "", false
	}
	c, found = b.users.Get(user)
	return c, raw, pass, found
}

// request is what access reads the credentials from and records the
// caller on: the adapted request (httpRequest) or the view (viewRequest).
type request interface {
	Get(name string) string
	Del(name string)
	apply(pc *plugin.Context, id *authn.Identity)
	fallback(pc *plugin.Context, a authn.Anonymous, fail *plugin.Response) *plugin.Response
}

type httpRequest struct {
	plugin.HeaderFields
	r *http.Request
}

func (h httpRequest) apply(pc *plugin.Context, id *authn.Identity) { id.Apply(pc, h.r) }

func (h httpRequest) fallback(pc *plugin.Context, a authn.Anonymous, fail *plugin.Response) *plugin.Response {
	return a.Fallback(pc, h.r, fail)
}

type viewRequest struct{ plugin.ViewFields }

func (v viewRequest) apply(pc *plugin.Context, id *authn.Identity) { id.ApplyView(pc, v.H) }

func (v viewRequest) fallback(pc *plugin.Context, a authn.Anonymous, fail *plugin.Response) *plugin.Response {
	return a.FallbackView(pc, v.H, fail)
}

// parseBasic reads the credentials of a header value as
// kong/plugins/basic-auth/access.lua does; raw is the decoded
// "user:pass". Kong's patterns are searched, not anchored:
// `\s*[Bb]asic\s*(.+)` finds the first "Basic" or "basic" (only those
// two spellings), with or without spaces after it, and takes the rest of
// the value; ngx.decode_base64 decodes it (kongBase64); and
// `([^:]+):(.*)` takes the username from the first character that is not
// a colon up to the next colon (":x:y" is user "x", password "y") and
// the password from there to a newline ("." stops at one).
func parseBasic(value string) (raw []byte, user, pass string, ok bool) {
	i := basicAt(value)
	if i < 0 {
		return nil, "", "", false
	}
	encoded := strings.TrimLeft(value[i+len("Basic"):], " \t\n\v\f\r")
	if j := strings.IndexByte(encoded, '\n'); j >= 0 {
		encoded = encoded[:j]
	}
	if encoded == "" {
		return nil, "", "", false
	}
	raw, ok = kongBase64(encoded)
	if !ok {
		return nil, "", "", false
	}
	decoded := strings.TrimLeft(string(raw), ":")
	user, pass, ok = strings.Cut(decoded, ":")
	if !ok || user == "" {
		// A username is required (one or more characters but ':').
		return nil, "", "", false
	}
	if j := strings.IndexByte(pass, '\n'); j >= 0 {
		pass = pass[:j]
	}
	return raw, user, pass, true
}

// basicAt is the index of the first "Basic" or "basic" in v, -1 for
// none.
func basicAt(v string) int {
	for i := 0; i+len("Basic") <= len(v); i++ {
		if (v[i] == 'B' || v[i] == 'b') && v[i+1:i+5] == "asic" {
			return i
		}
	}
	return -1
}

// kongBase64 decodes s as nginx's ngx_decode_base64 (behind
// ngx.decode_base64) does: the standard alphabet, read up to the first
// "=" (what follows it is ignored, so padding is optional), any other
// byte refused, and a length of 4n+1 refused.
func kongBase64(s string) ([]byte, bool) {
	if j := strings.IndexByte(s, '='); j >= 0 {
		s = s[:j]
	}
	if len(s)%4 == 1 {
		return nil, false
	}
	for k := 0; k < len(s); k++ {
		c := s[k]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, false
		}
	}
	raw, err := base64.RawStdEncoding.DecodeString(s)
	return raw, err == nil
}

// check reports whether pass is c's password; raw ("user:pass") caches
// the answer.
func (b *BasicAuth) check(c credential, raw []byte, pass string) bool {
	digest := sha256.Sum256(raw)
	if _, ok := b.verified.Load(digest); ok {
		return true
	}
	if !model.CheckPassword(c.cred.Password, pass) {
		return false
	}
	b.verified.Store(digest, c)
	return true
}
