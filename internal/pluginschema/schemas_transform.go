package pluginschema

// The transformation and observability plugins (kong/plugins/*/schema.lua).

func init() {
	register("request-transformer", 801, nil)
	register("response-transformer", 800, nil)
	register("correlation-id", 100001, nil)
	register("prometheus", 13, nil)
}
