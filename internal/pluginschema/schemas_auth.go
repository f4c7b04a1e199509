package pluginschema

// The authentication and authorization plugins (kong/plugins/*/schema.lua).

func init() {
	register(&Schema{Name: "key-auth", NoConsumer: true, Priority: 1250, Fields: []Field{
		withRequired(stringList("array", "key_names", "apikey")),
		boolean("hide_credentials", false),
		str("anonymous"),
		boolean("key_in_header", true),
		boolean("key_in_query", true),
		boolean("key_in_body", false),
		boolean("run_on_preflight", true),
		str("realm"),
	}})
	register(&Schema{Name: "basic-auth", NoConsumer: true, Priority: 1100, Fields: []Field{
		str("anonymous"),
		boolean("hide_credentials", false),
		str("realm"),
	}})
	register(&Schema{Name: "jwt", NoConsumer: true, Priority: 1450, Fields: []Field{
		withRequired(stringList("set", "uri_param_names", "jwt")),
		withRequired(stringList("set", "cookie_names")),
		strDefault("key_claim_name", "iss"),
		boolean("secret_is_base64", false),
		{Name: "claims_to_verify", Type: "set", Elements: &Field{Type: "string", OneOf: []any{"exp", "nbf"}}},
		str("anonymous"),
		boolean("run_on_preflight", true),
		{Name: "maximum_expiration", Type: "number", Required: true, Default: float64(0), Between: []float64{0, 31536000}},
		withRequired(stringList("set", "header_names", "authorization")),
		str("realm"),
	}, Check: checkJWT})
	register(&Schema{Name: "acl", NoConsumer: true, Priority: 950, Fields: []Field{
		stringList("array", "allow"),
		stringList("array", "deny"),
		boolean("hide_groups_header", false),
		boolean("always_use_authenticated_groups", false),
		boolean("include_consumer_groups", false),
	}, Check: func(cfg map[string]any) map[string]string {
		if errs := onlyOneOf(cfg, "allow", "deny"); errs != nil {
			return errs
		}
		return atLeastOneOf(cfg, "allow", "deny")
	}})
}

// withRequired marks a defaulted list required, as Kong's schemas do.
func withRequired(f Field) Field {
	f.Required = true
	if f.Default == nil {
		f.Default = []any{}
	}
	return f
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
