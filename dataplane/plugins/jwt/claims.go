package jwt

import (
	"encoding/json"
	"net/http"

	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// checkClaims verifies the registered claims configured, with Kong's
// messages keyed by claim.
func (j *JWT) checkClaims(claims map[string]any) map[string]string {
	errs := map[string]string{}
	now := float64(j.now().Unix())
	for _, name := range j.conf.ClaimsToVerify {
		v, present := claims[name]
		if !present {
			continue
		}
		x, ok := v.(float64)
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
	if j.conf.MaximumExpiration > 0 && errs["exp"] == "" {
		exp, ok := claims["exp"].(float64)
		if !ok || exp-now > j.conf.MaximumExpiration {
			errs["exp"] = "exceeds maximum allowed expiration"
		}
	}
	return errs
}

// claimErrors is Kong's 401 whose body is the claim errors themselves.
func claimErrors(errs map[string]string) *plugin.Response {
	b, _ := json.Marshal(errs)
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	return &plugin.Response{Status: http.StatusUnauthorized, Header: h, Body: append(b, '\n')}
}
