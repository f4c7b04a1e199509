// Package hmacauth is Kong's hmac-auth plugin: the caller signs chosen
// request headers with a shared secret (draft-cavage HTTP signatures) and
// is identified as the consumer owning that credential
// (kong/plugins/hmac-auth/access.lua).
package hmacauth

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // hmac-sha1 is one of Kong's algorithms, off unless configured
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins/authn"
	"github.com/skyport-gw/skyport/dataplane/plugins/reqbody"
	"github.com/skyport-gw/skyport/internal/model"
)

// Name is the plugin's name.
const Name = "hmac-auth"

// Kong's messages.
const (
	msgUnauthorized = "Unauthorized"
	msgNoDate       = "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"
	msgNotValid     = "HMAC signature cannot be verified"
	msgNotSame      = "HMAC signature does not match"
)

// Config is hmac-auth's configuration (defaults from the shared schema).
type Config struct {
	// HideCredentials removes the header that carried the signature.
	HideCredentials bool `json:"hide_credentials"`
	// ClockSkew is how far, in seconds, the request's Date or X-Date may
	// be from now; default 300.
	ClockSkew float64 `json:"clock_skew"`
	// Anonymous is a consumer id or username used when authentication
	// fails.
	Anonymous *string `json:"anonymous"`
	// ValidateRequestBody checks the Digest header against the body.
	ValidateRequestBody bool `json:"validate_request_body"`
	// EnforceHeaders must all be among the signed headers.
	EnforceHeaders []string `json:"enforce_headers"`
	// Algorithms are the accepted hmac-sha1/256/384/512.
	Algorithms []string `json:"algorithms"`
	// Realm, when set, is the realm of the WWW-Authenticate challenge.
	Realm *string `json:"realm"`
}

// HMACAuth is the handler built for one plugin instance of one snapshot.
type HMACAuth struct {
	// from is what the index was built from (plugin.Reuser).
	from      authn.Indexed[*model.HMACAuth]
	conf      Config
	challenge string
	users     map[string]credential
	anonymous authn.Anonymous
	now       func() time.Time
}

type credential struct {
	secret   []byte
	identity *authn.Identity
}

var (
	_ plugin.Handler  = (*HMACAuth)(nil)
	_ plugin.Accessor = (*HMACAuth)(nil)
	_ plugin.Reuser   = (*HMACAuth)(nil)
)

// New builds the handler: the snapshot's credentials indexed by username.
func New(env plugin.Env) (plugin.Handler, error) {
	var c Config
	if err := plugin.DecodeConfig(env.Plugin.Config, &c); err != nil {
		return nil, fmt.Errorf("building hmac-auth: %w", err)
	}
	cs := authn.NewConsumers(env.Config)
	h := &HMACAuth{conf: c, users: make(map[string]credential, len(env.Config.HMACAuths)),
		anonymous: authn.NewAnonymous(cs, c.Anonymous), now: time.Now,
		challenge: authn.Challenge("hmac", c.Realm)}
	for _, cred := range env.Config.HMACAuths {
		if co := cs.ByRef(cred.Consumer); co != nil {
			h.users[cred.Username] = credential{secret: []byte(cred.Secret), identity: authn.NewIdentity(co, cred, &cred.Username)}
		}
	}
	h.from = authn.NewIndexed(env.Config.HMACAuths, env.Config)
	return h, nil
}

// Name implements plugin.Handler.
func (h *HMACAuth) Name() string { return Name }

// Reusable implements plugin.Reuser: the same credentials and consumers.
func (h *HMACAuth) Reusable(env plugin.Env) bool {
	return h.from.Unchanged(env.Config.HMACAuths, env.Config)
}

// Access implements plugin.Accessor.
func (h *HMACAuth) Access(pc *plugin.Context, r *http.Request) *plugin.Response {
	if h.anonymous.AlreadyAuthenticated(pc) {
		return nil
	}
	id, fail := h.authenticate(r)
	if fail != nil {
		return h.anonymous.Fallback(pc, r, fail)
	}
	id.Apply(pc, r)
	return nil
}

// authenticate is Kong's do_authentication.
func (h *HMACAuth) authenticate(r *http.Request) (*authn.Identity, *plugin.Response) {
	authorization, proxyAuthorization := r.Header.Get("Authorization"), r.Header.Get("Proxy-Authorization")
	if authorization == "" && proxyAuthorization == "" {
		return nil, authn.Unauthorized(msgUnauthorized, h.challenge)
	}
	if !h.dateWithinSkew(r.Header.Get("X-Date")) && !h.dateWithinSkew(r.Header.Get("Date")) {
		return nil, authn.Unauthorized(msgNoDate, h.challenge)
	}
	p, ok := parseAuthorization(proxyAuthorization)
	switch {
	case ok && h.conf.HideCredentials:
		r.Header.Del("Proxy-Authorization")
	case !ok:
		p, ok = parseAuthorization(authorization)
		if h.conf.HideCredentials {
			r.Header.Del("Authorization")
		}
	}
	if !ok || h.checkParams(p) != nil {
		return nil, authn.Unauthorized(msgNotValid, h.challenge)
	}
	cred, found := h.users[p.username]
	if !found {
		return nil, authn.Unauthorized(msgNotValid, h.challenge)
	}
	if !validSignature(r, p, cred.secret) {
		return nil, authn.Unauthorized(msgNotSame, h.challenge)
	}
	if h.conf.ValidateRequestBody && !validBody(r) {
		return nil, authn.Unauthorized(msgNotSame, h.challenge)
	}
	return cred.identity, nil
}

// dateWithinSkew checks an HTTP date against the clock.
func (h *HMACAuth) dateWithinSkew(date string) bool {
	if date == "" {
		return false
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return false
	}
	skew := h.now().Unix() - t.Unix()
	if skew < 0 {
		skew = -skew
	}
	return float64(skew) <= h.conf.ClockSkew
}

// params are the fields of an hmac Authorization header.
type params struct {
	username, algorithm, signature string
	headers                        []string
}

// authorizationPattern is Kong's, matched anywhere in the header, with
// its greedy groups.
var authorizationPattern = regexp.MustCompile(
	`\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)"`)

func parseAuthorization(v string) (params, bool) {
	m := authorizationPattern.FindStringSubmatch(v)
	if m == nil {
		return params{}, false
	}
	return params{username: m[1], algorithm: m[2], headers: strings.Split(m[3], " "), signature: m[4]}, true
}

var errParams = errors.New("invalid hmac parameters")

// checkParams is Kong's validate_params: enforced headers signed, and an
// accepted algorithm.
func (h *HMACAuth) checkParams(p params) error {
	for _, want := range h.conf.EnforceHeaders {
		if !contains(p.headers, want) {
			return errParams
		}
	}
	if !contains(h.conf.Algorithms, p.algorithm) || algorithms[p.algorithm] == nil {
		return errParams
	}
	return nil
}

var algorithms = map[string]func() hash.Hash{
	"hmac-sha1":   sha1.New,
	"hmac-sha256": sha256.New,
	"hmac-sha384": sha512.New384,
	"hmac-sha512": sha512.New,
}

// SigningString is what a client signs for the headers it names: one
// "name: value" line per header, "@request-target" and "request-line"
// computed from the request when no such header was sent, joined by
// newlines (Kong's create_hash).
func SigningString(r *http.Request, headers []string) string {
	var b strings.Builder
	uri := r.URL.RequestURI()
	for i, name := range headers {
		if i > 0 {
			b.WriteByte('\n')
		}
		value := r.Header.Values(name)
		switch {
		case len(value) > 0:
			b.WriteString(name + ": " + value[0])
		case name == "@request-target":
			b.WriteString(name + ": " + strings.ToLower(r.Method) + " " + uri)
		case name == "request-line":
			fmt.Fprintf(&b, "%s %s HTTP/%d.%d", r.Method, uri, r.ProtoMajor, r.ProtoMinor)
		default:
			b.WriteString(name + ":")
		}
	}
	return b.String()
}

func validSignature(r *http.Request, p params, secret []byte) bool {
	got, err := base64.StdEncoding.DecodeString(p.signature)
	if err != nil {
		return false
	}
	mac := hmac.New(algorithms[p.algorithm], secret)
	mac.Write([]byte(SigningString(r, p.headers)))
	return hmac.Equal(mac.Sum(nil), got)
}

// validBody is Kong's validate_body: the Digest header is the body's
// SHA-256, or, without one, the body is empty.
func validBody(r *http.Request) bool {
	body, err := reqbody.Read(r)
	if err != nil {
		return false
	}
	digest := r.Header.Get("Digest")
	if digest == "" {
		return len(body) == 0
	}
	sum := sha256.Sum256(body)
	return digest == "SHA-256="+base64.StdEncoding.EncodeToString(sum[:])
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
