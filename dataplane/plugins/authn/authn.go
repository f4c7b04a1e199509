// Package authn holds what the authentication plugins share: the
// snapshot's consumers indexed for lookup, Kong's consumer headers sent
// upstream, the anonymous fallback and the unauthorized answers.
package authn

import (
	"net/http"
	"unsafe"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/internal/model"
)

// Kong's upstream headers describing the authenticated caller.
const (
	HeaderConsumerID       = "X-Consumer-Id"
	HeaderConsumerCustomID = "X-Consumer-Custom-Id"
	HeaderConsumerUsername = "X-Consumer-Username"
	HeaderCredential       = "X-Credential-Identifier"
	HeaderAnonymous        = "X-Anonymous-Consumer"
)

// Consumers indexes a snapshot's consumers by id and by username.
type Consumers struct {
	byID, byUsername map[string]*model.Consumer
}

// NewConsumers indexes cfg's consumers.
func NewConsumers(cfg *model.Config) *Consumers {
	c := &Consumers{byID: make(map[string]*model.Consumer, len(cfg.Consumers)),
		byUsername: make(map[string]*model.Consumer, len(cfg.Consumers))}
	for _, co := range cfg.Consumers {
		c.byID[co.ID] = co
		if co.Username != nil {
			c.byUsername[*co.Username] = co
		}
	}
	return c
}

// ByRef returns the consumer a credential points at.
func (c *Consumers) ByRef(ref *model.Ref) *model.Consumer {
	if ref == nil {
		return nil
	}
	return c.byID[ref.ID]
}

// Lookup finds a consumer by id, then by username (how Kong resolves the
// anonymous setting).
func (c *Consumers) Lookup(idOrName string) *model.Consumer {
	if co := c.byID[idOrName]; co != nil {
		return co
	}
	return c.byUsername[idOrName]
}

// Identity is a credential and its consumer, which Kong's upstream
// header values are taken from, so identifying a caller allocates
// nothing: each value is a one-element slice over the entity's own field
// (full, len == cap, so an append copies; nothing writes a header value
// in place). Three words, however many headers: a data plane holds one
// per credential, hundreds of thousands of them.
type Identity struct {
	Consumer   *model.Consumer
	Credential model.Entity
	// identifier is the credential's field that X-Credential-Identifier
	// carries (never a secret); nil or empty for none.
	identifier *string
}

// NewIdentity returns the identity of cred, owned by co; identifier
// points at cred's field that X-Credential-Identifier carries, nil for
// none. The entities are the configuration's, which nothing modifies.
func NewIdentity(co *model.Consumer, cred model.Entity, identifier *string) *Identity {
	return &Identity{Consumer: co, Credential: cred, identifier: identifier}
}

// value is the header value *p as a full one-element slice over p; nil
// when p is nil, or, with omitEmpty, when *p is empty.
func value(p *string, omitEmpty bool) []string {
	if p == nil || (omitEmpty && *p == "") {
		return nil
	}
	return unsafe.Slice(p, 1)
}

// Apply records the caller on pc and sets Kong's consumer headers on the
// upstream request, replacing any the client sent.
func (id *Identity) Apply(pc *plugin.Context, r *http.Request) { apply(*id, pc, mapFields(r.Header)) }

// ApplyView is Apply on the view's fields h.
func (id *Identity) ApplyView(pc *plugin.Context, h exchange.Header) { apply(*id, pc, viewFields{h}) }

// apply is Apply and ApplyView, generic over where the fields go: f is
// not boxed in an interface, which would allocate per request.
func apply[F fields](id Identity, pc *plugin.Context, f F) {
	pc.Consumer, pc.Credential = id.Consumer, id.Credential
	setHeaders(id, f)
	f.put(HeaderCredential, value(id.identifier, true))
	f.put(HeaderAnonymous, nil)
}

func setHeaders[F fields](id Identity, f F) {
	co := id.Consumer
	f.put(HeaderConsumerID, value(&co.ID, false))
	f.put(HeaderConsumerCustomID, value(co.CustomID, false))
	f.put(HeaderConsumerUsername, value(co.Username, false))
}

// fields is where the consumer headers go: the adapted request's map or
// the view's fields.
type fields interface {
	// put replaces the fields named key (canonical) by the one value of
	// v, or removes them when v is nil.
	put(key string, v []string)
}

// mapFields puts into an http.Header, sharing v (full slices: an append
// copies them).
type mapFields http.Header

func (h mapFields) put(key string, v []string) {
	if v == nil {
		delete(h, key)
		return
	}
	h[key] = v
}

// viewFields puts into the view's fields, which copy the value.
type viewFields struct{ h exchange.Header }

func (f viewFields) put(key string, v []string) {
	if v == nil {
		f.h.Del(key)
		return
	}
	f.h.Set(key, v[0])
}

// anonymousTrue is X-Anonymous-Consumer's value, a full slice.
var anonymousTrue = []string{"true"}[:1:1]

// Anonymous is an auth plugin's anonymous setting: the consumer used when
// authentication fails, resolved once per snapshot.
type Anonymous struct {
	set      bool
	identity *Identity
}

// NewAnonymous resolves the anonymous setting (an id or username, nil or
// empty for none) against the snapshot's consumers.
func NewAnonymous(cs *Consumers, setting *string) Anonymous {
	if setting == nil || *setting == "" {
		return Anonymous{}
	}
	a := Anonymous{set: true}
	if co := cs.Lookup(*setting); co != nil {
		a.identity = NewIdentity(co, nil, nil)
	}
	return a
}

// Configured reports whether an anonymous consumer is configured.
func (a Anonymous) Configured() bool { return a.set }

// AlreadyAuthenticated reports whether this plugin should stand aside:
// with anonymous configured, an earlier plugin's credential satisfies the
// request (Kong's "logical OR" of auth plugins).
func (a Anonymous) AlreadyAuthenticated(pc *plugin.Context) bool {
	return a.set && pc.Credential != nil
}

// Fallback answers a failed authentication: with anonymous configured it
// records the anonymous consumer and lets the request through (nil), else
// it returns fail. An anonymous consumer absent from the snapshot is
// Kong's 500.
func (a Anonymous) Fallback(pc *plugin.Context, r *http.Request, fail *plugin.Response) *plugin.Response {
	return fallback(a, pc, mapFields(r.Header), fail)
}

// FallbackView is Fallback on the view's fields h.
func (a Anonymous) FallbackView(pc *plugin.Context, h exchange.Header, fail *plugin.Response) *plugin.Response {
	return fallback(a, pc, viewFields{h}, fail)
}

func fallback[F fields](a Anonymous, pc *plugin.Context, f F, fail *plugin.Response) *plugin.Response {
	if !a.set {
		return fail
	}
	if a.identity == nil {
		// Kong's set_consumer(nil) fails in kong.client.authenticate: a
		// Lua error, answered by kong/error_handlers.lua.
		return plugin.ErrorPage(http.StatusInternalServerError, "")
	}
	pc.Consumer, pc.Credential = a.identity.Consumer, nil
	setHeaders(*a.identity, f)
	f.put(HeaderCredential, nil)
	f.put(HeaderAnonymous, anonymousTrue)
	return nil
}

// Challenge is a WWW-Authenticate value: the scheme alone, or with
// realm="…" when a realm is configured (key-auth and jwt leave it out by
// default, basic-auth's schema defaults it to "service").
func Challenge(scheme string, realm *string) string {
	if realm == nil {
		return scheme
	}
	return scheme + ` realm="` + *realm + `"`
}

// Unauthorized is kong.response.error(401, msg) with a WWW-Authenticate
// challenge, as key-auth and basic-auth answer.
func Unauthorized(msg, challenge string) *plugin.Response {
	resp := plugin.Error(http.StatusUnauthorized, msg)
	resp.Header["Www-Authenticate"] = []string{challenge}
	return resp
}

// IsPreflight reports whether r is a CORS preflight request, which auth
// plugins let through when run_on_preflight is false.
func IsPreflight(r *http.Request) bool { return r.Method == http.MethodOptions }

// IsPreflightView is IsPreflight on the view.
func IsPreflightView(r exchange.Request) bool { return string(r.Method()) == http.MethodOptions }

// Indexed remembers the lists an authentication handler indexed, the
// credentials of its kind and the consumers, so that it can tell a later
// configuration left them alone (plugin.Reuser).
type Indexed[T any] struct {
	creds     []T
	consumers []*model.Consumer
}

// NewIndexed remembers cfg's credentials creds and its consumers.
func NewIndexed[T any](creds []T, cfg *model.Config) Indexed[T] {
	return Indexed[T]{creds: creds, consumers: cfg.Consumers}
}

// Unchanged reports whether cfg holds the lists remembered, creds being
// its credentials of the kind.
func (x Indexed[T]) Unchanged(creds []T, cfg *model.Config) bool {
	return plugin.Unchanged(x.creds, creds) && plugin.Unchanged(x.consumers, cfg.Consumers)
}
