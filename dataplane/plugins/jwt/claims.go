package jwt

import (
	"encoding/json"
	"net/http"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// checkClaims verifies the registered claims configured, with Kong's
// messages keyed by claim. A claim to verify that is absent (or null) is
// not a number: the token is refused, as Kong's verify_registered_claims
// does (kong/plugins/jwt/jwt_parser.lua). maximum_expiration is checked
// only once the registered claims passed, as Kong's handler.lua does.
func (j *JWT) checkClaims(claims map[string]any) map[string]string {
	errs := map[string]string{}
	now := float64(j.now().Unix())
	for _, name := range j.conf.ClaimsToVerify {
		x, ok := claims[name].(float64)
		if !ok {
			errs[name] = "must be a number"
			continue
		}
		switch name {
		case "exp":
			if x <= now {
				errs[name] = "token expired"
			}
		case "nbf":
			if x > now {
				errs[name] = "token not valid yet"
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if j.conf.MaximumExpiration > 0 {
		exp, ok := claims["exp"].(float64)
		if !ok || exp-now > j.conf.MaximumExpiration {
			errs["exp"] = "exceeds maximum allowed expiration"
		}
	}
	return errs
}

// claimErrors is Kong's 401 whose body is the claim errors themselves,
// with the invalid_token challenge.
func claimErrors(errs map[string]string, challenge string) *plugin.Response {
	b, _ := json.Marshal(errs)
	h := http.Header{}
	h["Content-Type"] = []string{"application/json; charset=utf-8"}
	h["Www-Authenticate"] = []string{challenge}
	return &plugin.Response{Status: http.StatusUnauthorized, Header: h, Body: b}
}
