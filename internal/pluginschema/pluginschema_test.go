package pluginschema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/pluginschema"
)

func TestNormalizeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		plugin string
		cfg    map[string]any
		want   map[string]string
	}{
		{"unknown field", "key-auth", map[string]any{"nope": 1}, map[string]string{"config.nope": "unknown field"}},
		{"wrong type", "key-auth", map[string]any{"hide_credentials": "yes"}, map[string]string{"config.hide_credentials": "expected a boolean"}},
		{"array element type", "key-auth", map[string]any{"key_names": []any{"a", 3.0}}, map[string]string{"config.key_names.2": "expected a string"}},
		{"not an array", "key-auth", map[string]any{"key_names": "apikey"}, map[string]string{"config.key_names": "expected an array"}},
		{"integer", "request-size-limiting", map[string]any{"allowed_payload_size": 1.5}, map[string]string{"config.allowed_payload_size": "expected an integer"}},
		{"between", "request-termination", map[string]any{"status_code": 600.0, "message": "x"}, map[string]string{"config.status_code": "value should be between 100 and 599"}},
		{"one of", "request-size-limiting", map[string]any{"size_unit": "gigabytes"}, map[string]string{"config.size_unit": "expected one of: megabytes, kilobytes, bytes"}},
		{"element one of", "cors", map[string]any{"methods": []any{"GET", "FETCH"}}, map[string]string{"config.methods.2": "expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT"}},
		{"nested unknown", "request-transformer", map[string]any{"add": map[string]any{"cookies": []any{}}}, map[string]string{"config.add.cookies": "unknown field"}},
		{"rate limit needs a period", "rate-limiting", map[string]any{}, map[string]string{"config.@entity": "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"}},
		{"rate limit policy", "rate-limiting", map[string]any{"minute": 5.0, "policy": "redis"}, map[string]string{"config.redis.host": "required field missing"}},
		{"rate limit order", "rate-limiting", map[string]any{"second": 10.0, "minute": 5.0}, map[string]string{"config.@entity": "The limit for minute(5) cannot be lower than the limit for second(10)"}},
		{"rate limit header name", "rate-limiting", map[string]any{"minute": 5.0, "limit_by": "header"}, map[string]string{"config.header_name": "required field missing"}},
		{"acl both", "acl", map[string]any{"allow": []any{"a"}, "deny": []any{"b"}}, map[string]string{"config.@entity": "only one of these fields must be non-empty: 'config.allow', 'config.deny'"}},
		{"acl none", "acl", map[string]any{}, map[string]string{"config.@entity": "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"}},
		{"bad cidr", "ip-restriction", map[string]any{"allow": []any{"10.0.0.0/8", "nope"}}, map[string]string{"config.allow.2": "invalid ip or cidr range: 'nope'"}},
		{"termination message and body", "request-termination", map[string]any{"message": "m", "body": "b"}, map[string]string{"config.@entity": "message cannot be used with content_type or body"}},
		{"jwt claims", "jwt", map[string]any{"claims_to_verify": []any{"iat"}}, map[string]string{"config.claims_to_verify.1": "expected one of: exp, nbf"}},
		{"jwt max expiration needs exp", "jwt", map[string]any{"maximum_expiration": 60.0}, map[string]string{"config.claims_to_verify": "expected to contain: exp"}},
		{"correlation generator", "correlation-id", map[string]any{"generator": "random"}, map[string]string{"config.generator": "expected one of: uuid, uuid#counter, tracker"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			out, errs, known := pluginschema.Normalize(tt.plugin, tt.cfg)
			require.True(t, known)
			require.Nil(t, out)
			require.Equal(t, tt.want, errs)
		})
	}
}

func TestNormalizeDefaults(t *testing.T) {
	t.Parallel()
	out, errs, known := pluginschema.Normalize("key-auth", nil)
	require.True(t, known)
	require.Empty(t, errs)
	require.Equal(t, map[string]any{
		"key_names": []any{"apikey"}, "hide_credentials": false, "anonymous": nil,
		"key_in_header": true, "key_in_query": true, "key_in_body": false,
		"run_on_preflight": true, "realm": nil,
	}, out)

	out2, _, _ := pluginschema.Normalize("key-auth", map[string]any{"key_names": nil})
	out2["key_names"].([]any)[0] = "changed"
	out3, _, _ := pluginschema.Normalize("key-auth", nil)
	require.Equal(t, []any{"apikey"}, out3["key_names"], "defaults are deep-copied")

	rt, errs, _ := pluginschema.Normalize("request-transformer", map[string]any{
		"add": map[string]any{"headers": []any{"x-a:1"}}})
	require.Empty(t, errs)
	require.Equal(t, map[string]any{"body": []any{}, "headers": []any{"x-a:1"}, "querystring": []any{}}, rt["add"])
	require.Equal(t, map[string]any{"body": []any{}, "headers": []any{}, "querystring": []any{}, "uri": nil}, rt["replace"])

	rl, errs, _ := pluginschema.Normalize("rate-limiting", map[string]any{"minute": 5})
	require.Empty(t, errs)
	require.Equal(t, 5.0, rl["minute"])
	require.Equal(t, "consumer", rl["limit_by"])
	require.Equal(t, "local", rl["policy"])
	require.Equal(t, true, rl["fault_tolerant"])

	set, errs, _ := pluginschema.Normalize("jwt", map[string]any{"claims_to_verify": []any{"exp", "exp", "nbf"}})
	require.Empty(t, errs)
	require.Equal(t, []any{"exp", "nbf"}, set["claims_to_verify"], "sets drop duplicates")
}

func TestEverySchema(t *testing.T) {
	t.Parallel()
	want := []string{"acl", "aws-lambda", "basic-auth", "bot-detection", "correlation-id", "cors", "datadog",
		"file-log", "hmac-auth", "http-log", "ip-restriction", "jwt", "key-auth", "opentelemetry", "prometheus",
		"proxy-cache", "rate-limiting", "redirect", "request-size-limiting", "request-termination",
		"request-transformer", "response-ratelimiting", "response-transformer", "statsd", "syslog", "tcp-log",
		"udp-log", "zipkin"}
	require.Equal(t, want, pluginschema.Names())
	prio := map[string]int{"correlation-id": 100001, "ip-restriction": 990, "cors": 2000, "jwt": 1450,
		"key-auth": 1250, "basic-auth": 1100, "hmac-auth": 1030, "acl": 950, "rate-limiting": 910, "request-size-limiting": 951,
		"request-termination": 2, "request-transformer": 801, "response-transformer": 800, "prometheus": 13,
		"redirect": 779, "bot-detection": 2500, "proxy-cache": 100, "response-ratelimiting": 900, "aws-lambda": 750,
		"opentelemetry": 14, "http-log": 12, "statsd": 11, "datadog": 10, "zipkin": 100000, "file-log": 9, "udp-log": 8, "tcp-log": 7, "syslog": 4}
	for name, p := range prio {
		s, ok := pluginschema.Lookup(name)
		require.True(t, ok, name)
		require.Equal(t, p, s.Priority, name)
	}
	_, _, known := pluginschema.Normalize("nope", nil)
	require.False(t, known)
}

func TestNormalizeIdempotent(t *testing.T) {
	t.Parallel()
	minimal := map[string]map[string]any{
		"acl":                   {"allow": []any{"admin"}},
		"ip-restriction":        {"deny": []any{"10.0.0.0/8"}},
		"rate-limiting":         {"minute": 10},
		"proxy-cache":           {"strategy": "memory"},
		"redirect":              {"location": "https://example.com"},
		"response-ratelimiting": {"limits": map[string]any{"videos": map[string]any{"minute": 10}}},
		"http-log":              {"http_endpoint": "http://logs.example/x"},
		"file-log":              {"path": "/var/log/skyport.log"},
		"tcp-log":               {"host": "logs.example", "port": 514.0},
		"udp-log":               {"host": "10.0.0.1", "port": 514.0},
		"opentelemetry":         {"traces_endpoint": "http://otel.example:4318/v1/traces"},
	}
	for _, name := range pluginschema.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			once, errs, _ := pluginschema.Normalize(name, minimal[name])
			require.Empty(t, errs)
			twice, errs, _ := pluginschema.Normalize(name, once)
			require.Empty(t, errs, "a normalized config validates again (PATCH, export/import)")
			require.Equal(t, once, twice)
		})
	}
}

func TestNoConsumer(t *testing.T) {
	t.Parallel()
	for _, name := range pluginschema.Names() {
		s, _ := pluginschema.Lookup(name)
		want := map[string]bool{"key-auth": true, "basic-auth": true, "hmac-auth": true, "jwt": true, "acl": true, "cors": true,
			"bot-detection": true}[name]
		require.Equal(t, want, s.NoConsumer, name)
	}
}
