package pluginschema

// The transformation and observability plugins (kong/plugins/*/schema.lua).

func init() {
	lists := func(names ...string) []Field {
		out := make([]Field, len(names))
		for i, n := range names {
			out[i] = withRequired(stringList("array", n))
		}
		return out
	}
	register(&Schema{Name: "request-transformer", Priority: 801, Fields: []Field{
		str("http_method"),
		record("remove", lists("body", "headers", "querystring")...),
		record("rename", lists("body", "headers", "querystring")...),
		record("replace", append(lists("body", "headers", "querystring"), str("uri"))...),
		record("add", lists("body", "headers", "querystring")...),
		record("append", lists("body", "headers", "querystring")...),
	}})
	jsonTypes := Field{Name: "json_types", Type: "array", Required: true, Default: []any{},
		Elements: &Field{Type: "string", OneOf: []any{"boolean", "number", "string"}}}
	register(&Schema{Name: "response-transformer", Priority: 800, Fields: []Field{
		record("remove", lists("json", "headers")...),
		record("rename", lists("json", "headers")...),
		record("replace", append(lists("json", "headers"), jsonTypes)...),
		record("add", append(lists("json", "headers"), jsonTypes)...),
		record("append", append(lists("json", "headers"), jsonTypes)...),
	}})
	register(&Schema{Name: "correlation-id", Priority: 100001, Fields: []Field{
		strDefault("header_name", "Kong-Request-ID"),
		oneOfStrings("generator", "uuid#counter", "uuid", "uuid#counter", "tracker"),
		boolean("echo_downstream", false),
	}})
	register(&Schema{Name: "prometheus", Priority: 13, Fields: []Field{
		boolean("per_consumer", false),
		boolean("status_code_metrics", false),
		boolean("latency_metrics", false),
		boolean("bandwidth_metrics", false),
		boolean("upstream_health_metrics", false),
	}})
}
