// Package jwt is Kong's jwt plugin: the caller presents a signed JSON Web
// Token whose key claim names a jwt credential; the signature and the
// registered claims are verified and the credential's consumer identified.
package jwt

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/authn"
	"github.com/skyport-gw/skyport/internal/model"
)

// Name is the plugin's name.
const Name = "jwt"

// Config is jwt's configuration.
type Config struct {
	// URIParamNames, CookieNames and HeaderNames say where tokens are
	// looked for.
	URIParamNames []string `json:"uri_param_names"`
	CookieNames   []string `json:"cookie_names"`
	HeaderNames   []string `json:"header_names"`
	// KeyClaimName is the claim naming the credential; default iss.
	KeyClaimName string `json:"key_claim_name"`
	// SecretIsBase64 says credentials' secrets are base64-encoded.
	SecretIsBase64 bool `json:"secret_is_base64"`
	// ClaimsToVerify lists exp and/or nbf.
	ClaimsToVerify []string `json:"claims_to_verify"`
	// Anonymous is a consumer id or username used when authentication
	// fails.
	Anonymous *string `json:"anonymous"`
	// RunOnPreflight authenticates OPTIONS requests too.
	RunOnPreflight bool `json:"run_on_preflight"`
	// MaximumExpiration limits how far in the future exp may be, in
	// seconds; 0 for no limit.
	MaximumExpiration float64 `json:"maximum_expiration"`
	// Realm, when set, is the realm of the WWW-Authenticate challenge
	// (`Bearer realm="…"`); without it the challenge is `Bearer`.
	Realm *string `json:"realm"`
}

// JWT is the handler built for one plugin instance of one snapshot: each
// credential's verifier built once.
type JWT struct {
	// from is what the index was built from (plugin.Reuser).
	from      authn.Indexed[*model.JWTSecret]
	conf      Config
	challenge string
	creds     map[string]*credential
	anonymous authn.Anonymous
	now       func() time.Time
}

type credential struct {
	secret *model.JWTSecret
	// identity is nil when the credential's consumer is absent.
	identity *authn.Identity
	verify   verifier
}

var (
	_ plugin.Handler      = (*JWT)(nil)
	_ plugin.Accessor     = (*JWT)(nil)
	_ plugin.ViewAccessor = (*JWT)(nil)
	_ plugin.Reuser       = (*JWT)(nil)
)

// New builds the handler.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building jwt: %w", err)
	}
	if c.KeyClaimName == "" {
		c.KeyClaimName = "iss"
	}
	cs := authn.NewConsumers(env.Config)
	j := &JWT{conf: c, creds: make(map[string]*credential, len(env.Config.JWTSecrets)),
		anonymous: authn.NewAnonymous(cs, c.Anonymous), now: time.Now}
	j.challenge = authn.Challenge("Bearer", c.Realm)
	for _, s := range env.Config.JWTSecrets {
		cr := &credential{secret: s}
		if co := cs.ByRef(s.Consumer); co != nil {
			cr.identity = authn.NewIdentity(co, s, &s.Key)
		}
		secret := []byte(s.Secret)
		if c.SecretIsBase64 {
			secret, _ = base64.StdEncoding.DecodeString(s.Secret)
		}
		pemKey := ""
		if s.RSAPublicKey != nil {
			pemKey = *s.RSAPublicKey
		}
		// A credential whose key cannot be used answers "Invalid key/secret"
		// at request time, as Kong does; it does not fail the snapshot.
		cr.verify, _ = newVerifier(s.Algorithm, secret, pemKey)
		if len(secret) == 0 && strings.HasPrefix(s.Algorithm, "HS") {
			cr.verify = nil
		}
		j.creds[s.Key] = cr
	}
	j.from = authn.NewIndexed(env.Config.JWTSecrets, env.Config)
	return j, nil
}

// Name implements plugin.Handler.
func (j *JWT) Name() string { return Name }

// Reusable implements plugin.Reuser: the same credentials and consumers.
func (j *JWT) Reusable(env plugin.Env) bool {
	return j.from.Unchanged(env.Config.JWTSecrets, env.Config)
}

// Access implements plugin.Accessor.
func (j *JWT) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	if (!j.conf.RunOnPreflight && authn.IsPreflight(r)) || j.anonymous.AlreadyAuthenticated(pc) {
		return nil
	}
	cr, fail := authenticate(j, httpRequest{r})
	if fail != nil {
		return j.anonymous.Fallback(pc, r, fail)
	}
	cr.identity.Apply(pc, r)
	return nil
}

// OnView implements plugin.ViewAccessor: jwt reads fields and the query.
func (j *JWT) OnView() bool { return true }

// AccessView implements plugin.ViewAccessor.
func (j *JWT) AccessView(pc *plugin.Context, r exchange.Request) *plugin.Response {
	if (!j.conf.RunOnPreflight && authn.IsPreflightView(r)) || j.anonymous.AlreadyAuthenticated(pc) {
		return nil
	}
	cr, fail := authenticate(j, viewRequest{r: r, pc: pc})
	if fail != nil {
		return j.anonymous.FallbackView(pc, r.Header(), fail)
	}
	cr.identity.ApplyView(pc, r.Header())
	return nil
}

// unauthorized is Kong's refusal of a token that was presented (every
// failure but a missing token): the challenge says error="invalid_token".
func (j *JWT) unauthorized(msg string) *plugin.Response {
	return exit(msg, j.challenge+` error="invalid_token"`)
}

// exit is kong.response.exit(401, {message = msg}) with a challenge (jwt
// answers with exit, not error: no request id, no content negotiation).
func exit(msg, challenge string) *plugin.Response {
	resp := plugin.JSONMessage(http.StatusUnauthorized, msg)
	if challenge != "" {
		resp.Header["Www-Authenticate"] = []string{challenge}
	}
	return resp
}

// authenticate follows kong/plugins/jwt/handler.lua's do_authentication.
func authenticate[R request](j *JWT, r R) (*credential, *plugin.Response) {
	raw, n := find(j, r)
	switch {
	case n == 0:
		return nil, exit("Unauthorized", j.challenge)
	case n > 1:
		return nil, j.unauthorized("Multiple tokens provided")
	}
	t, err := decode(raw)
	if err != nil {
		return nil, j.unauthorized("Bad token; " + err.Error())
	}
	name := j.conf.KeyClaimName
	key, present := t.claims[name]
	if !present {
		key, present = t.header[name]
	}
	if !present {
		return nil, j.unauthorized("No mandatory '" + name + "' in claims")
	}
	ks, _ := key.(string)
	if ks == "" {
		return nil, j.unauthorized("Invalid '" + name + "' in claims")
	}
	cr := j.creds[ks]
	if cr == nil {
		return nil, j.unauthorized("No credentials found for given '" + name + "'")
	}
	if t.header["alg"] != cr.secret.Algorithm {
		return nil, j.unauthorized("Invalid algorithm")
	}
	if cr.verify == nil {
		return nil, j.unauthorized("Invalid key/secret")
	}
	if !cr.verify(t.signingInput, t.signature) {
		return nil, j.unauthorized("Invalid signature")
	}
	if errs := j.checkClaims(t.claims); len(errs) > 0 {
		return nil, claimErrors(errs, j.challenge+` error="invalid_token"`)
	}
	if cr.identity == nil {
		// Kong answers this one without a challenge.
		return nil, exit("Could not find consumer for '"+name+"="+ks+"'", "")
	}
	return cr, nil
}

var bearer = regexp.MustCompile(`^\s*[Bb]earer\s+(.+)`)

// find returns the token and how many distinct places carried one.
func find[R request](j *JWT, r R) (string, int) {
	var found []string
	add := func(v string) {
		for _, f := range found {
			if f == v {
				return
			}
		}
		found = append(found, v)
	}
	if raw := r.rawQuery(); len(j.conf.URIParamNames) > 0 && raw != "" {
		q, _ := url.ParseQuery(raw)
		for _, n := range j.conf.URIParamNames {
			// Every value counts, as Kong's retrieve_tokens gathers them.
			for _, v := range q[n] {
				if v != "" {
					add(v)
				}
			}
		}
	}
	for _, n := range j.conf.CookieNames {
		if c, err := r.cookie(n); err == nil && c.Value != "" {
			add(c.Value)
		}
	}
	for _, n := range j.conf.HeaderNames {
		if m := bearer.FindStringSubmatch(r.header(n)); m != nil {
			add(m[1])
		}
	}
	if len(found) == 0 {
		return "", 0
	}
	return found[0], len(found)
}

// request is what find reads tokens from: the adapted request
// (httpRequest) or the view (viewRequest).
type request interface {
	// rawQuery is the query without "?", as the access phases before
	// left it.
	rawQuery() string
	// cookie is http.Request.Cookie; header the first value of a field.
	cookie(name string) (*http.Cookie, error)
	header(name string) string
}

type httpRequest struct{ r *http.Request }

func (h httpRequest) rawQuery() string                         { return h.r.URL.RawQuery }
func (h httpRequest) cookie(name string) (*http.Cookie, error) { return h.r.Cookie(name) }
func (h httpRequest) header(name string) string                { return h.r.Header.Get(name) }

// viewRequest is the view; its query is the one the access phases
// before left for the upstream (pc).
type viewRequest struct {
	r  exchange.Request
	pc *plugin.Context
}

func (v viewRequest) rawQuery() string { return v.pc.ViewQuery(v.r) }

// cookie reads the view's Cookie fields as net/http reads a request's.
func (v viewRequest) cookie(name string) (*http.Cookie, error) {
	r := http.Request{Header: http.Header{"Cookie": plugin.ViewFields{H: v.r.Header()}.Values("Cookie")}}
	return r.Cookie(name)
}

func (v viewRequest) header(name string) string {
	return plugin.ViewFields{H: v.r.Header()}.Get(name)
}
