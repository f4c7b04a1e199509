package pluginschema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/pluginschema"
)

func TestLogPluginErrors(t *testing.T) {
	t.Parallel()
	lua := map[string]any{"x": "return 1"}
	tests := []struct {
		desc   string
		plugin string
		cfg    map[string]any
		want   map[string]string
	}{
		{"http-log endpoint required", "http-log", map[string]any{}, map[string]string{"config.http_endpoint": "required field missing"}},
		{"http-log endpoint host", "http-log", map[string]any{"http_endpoint": "/logs"}, map[string]string{"config.http_endpoint": "missing host in url"}},
		{"http-log method", "http-log", map[string]any{"http_endpoint": "http://l", "method": "GET"}, map[string]string{"config.method": "expected one of: POST, PUT, PATCH"}},
		{"http-log host header", "http-log", map[string]any{"http_endpoint": "http://l", "headers": map[string]any{"HOST": "x"}}, map[string]string{"config.headers": "cannot contain 'Host' header"}},
		{"http-log content-length header", "http-log", map[string]any{"http_endpoint": "http://l", "headers": map[string]any{"content-length": "1"}}, map[string]string{"config.headers": "cannot contain 'Content-Length' header"}},
		{"http-log userinfo and authorization", "http-log", map[string]any{"http_endpoint": "http://u:p@l", "headers": map[string]any{"Authorization": "x"}}, map[string]string{"config": "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"}},
		{"http-log batch size", "http-log", map[string]any{"http_endpoint": "http://l", "queue": map[string]any{"max_batch_size": 0}}, map[string]string{"config.queue.max_batch_size": "value should be between 1 and 1000000"}},
		{"http-log concurrency", "http-log", map[string]any{"http_endpoint": "http://l", "queue": map[string]any{"concurrency_limit": 2}}, map[string]string{"config.queue.concurrency_limit": "expected one of: -1, 1"}},
		{"http-log lua", "http-log", map[string]any{"http_endpoint": "http://l", "custom_fields_by_lua": lua}, map[string]string{"config.custom_fields_by_lua": pluginschema.MsgLuaCode}},
		{"file-log path", "file-log", map[string]any{"path": "/tmp/a*b"}, map[string]string{"config.path": "not a valid filename"}},
		{"file-log lua", "file-log", map[string]any{"path": "/tmp/a", "custom_fields_by_lua": lua}, map[string]string{"config.custom_fields_by_lua": pluginschema.MsgLuaCode}},
		{"tcp-log port", "tcp-log", map[string]any{"host": "h", "port": 70000}, map[string]string{"config.port": "value should be between 0 and 65535"}},
		{"tcp-log host with port", "tcp-log", map[string]any{"host": "h:80", "port": 1}, map[string]string{"config.host": "must not have a port"}},
		{"udp-log host", "udp-log", map[string]any{"host": "a b", "port": 1}, map[string]string{"config.host": "invalid value: a b"}},
		{"otel endpoint needed", "opentelemetry", map[string]any{}, map[string]string{"config.@entity": "at least one of these fields must be non-empty: 'config.traces_endpoint', 'config.logs_endpoint'"}},
		{"otel logs refused", "opentelemetry", map[string]any{"logs_endpoint": "http://c/v1/logs"}, map[string]string{"config.logs_endpoint": pluginschema.MsgOTelLogs}},
		{"otel propagation format", "opentelemetry", map[string]any{"traces_endpoint": "http://c/v1/traces", "propagation": map[string]any{"extract": []any{"b3-single"}}}, map[string]string{"config.propagation.extract.1": "expected one of: w3c, b3, jaeger, ot, datadog, aws, gcp"}},
		{"statsd sample rate for counters", "statsd", map[string]any{"metrics": []any{map[string]any{"name": "request_count", "stat_type": "counter"}}}, map[string]string{"config.metrics.1.sample_rate": "required field missing"}},
		{"statsd status ranges", "statsd", map[string]any{"allow_status_codes": []any{"200"}}, map[string]string{"config.allow_status_codes.1": "invalid value: 200"}},
		{"datadog tag", "datadog", map[string]any{"metrics": []any{map[string]any{"name": "latency", "stat_type": "timer", "tags": []any{"a:"}}}}, map[string]string{"config.metrics.1.tags.1": "invalid value: a:"}},
		{"zipkin protected tag", "zipkin", map[string]any{"static_tags": []any{map[string]any{"name": "lc", "value": "x"}}}, map[string]string{"config.static_tags.1.name": "expected none of: error, http.method, http.path, http.status_code, kong.balancer.state, kong.balancer.try, kong.consumer, kong.credential, kong.node.id, kong.route, kong.service, lc, peer.hostname"}},
		{"zipkin repeated tag", "zipkin", map[string]any{"static_tags": []any{map[string]any{"name": "a", "value": "x"}, map[string]any{"name": "a", "value": "y"}}}, map[string]string{"config.static_tags": "repeated tags are not allowed: a"}},
		{"syslog severity", "syslog", map[string]any{"log_level": "loud"}, map[string]string{"config.log_level": "expected one of: debug, info, notice, warning, err, crit, alert, emerg"}},
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

func TestLogPluginDefaults(t *testing.T) {
	t.Parallel()
	out, errs, _ := pluginschema.Normalize("http-log", map[string]any{"http_endpoint": "http://u:p@logs.example/x"})
	require.Empty(t, errs)
	require.Equal(t, "POST", out["method"])
	require.Equal(t, 10000.0, out["timeout"])
	require.Equal(t, map[string]any{"max_batch_size": 1.0, "max_coalescing_delay": 1.0, "max_entries": 10000.0,
		"max_bytes": nil, "max_retry_time": 60.0, "initial_retry_delay": 0.01, "max_retry_delay": 60.0,
		"concurrency_limit": 1.0}, out["queue"])

	out, errs, _ = pluginschema.Normalize("file-log", map[string]any{"path": "/var/log/kong.log"})
	require.Empty(t, errs)
	require.Equal(t, false, out["reopen"])

	out, errs, _ = pluginschema.Normalize("syslog", nil)
	require.Empty(t, errs)
	require.Equal(t, "user", out["facility"])
	require.Equal(t, "info", out["server_errors_severity"])
}
