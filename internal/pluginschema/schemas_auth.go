package pluginschema

// The authentication and authorization plugins (kong/plugins/*/schema.lua).

func init() {
	register("key-auth", 1250, nil)
	register("basic-auth", 1100, nil)
	register("hmac-auth", 1030, nil)
	register("jwt", 1450, checkJWT)
	register("acl", 950, func(cfg map[string]any) map[string]string {
		if errs := onlyOneOf(cfg, "allow", "deny"); errs != nil {
			return errs
		}
		return atLeastOneOf(cfg, "allow", "deny")
	})
}

// checkJWT: maximum_expiration needs exp among the claims to verify.
func checkJWT(cfg map[string]any) map[string]string {
	if m, _ := cfg["maximum_expiration"].(float64); m > 0 {
		claims, _ := cfg["claims_to_verify"].([]any)
		if !containsValue(claims, "exp") {
			return map[string]string{"claims_to_verify": "expected to contain: exp"}
		}
	}
	return nil
}
