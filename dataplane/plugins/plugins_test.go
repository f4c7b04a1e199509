package plugins_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugin"
	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/plugins/plugintest"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/pluginschema"
)

// minimal is the smallest valid config of each plugin.
var minimal = map[string]map[string]any{
	"acl":                   {"allow": []any{"admin"}},
	"ip-restriction":        {"allow": []any{"127.0.0.1"}},
	"rate-limiting":         {"minute": 10},
	"request-termination":   {},
	"redirect":              {"location": "https://example.com"},
	"proxy-cache":           {"strategy": "memory"},
	"response-ratelimiting": {"limits": map[string]any{"videos": map[string]any{"minute": 10}}},
	"http-log":              {"http_endpoint": "http://logs.example/x"},
	"file-log":              {"path": "/var/log/skyport.log"},
	"tcp-log":               {"host": "logs.example", "port": 514},
	"udp-log":               {"host": "logs.example", "port": 514},
	"opentelemetry":         {"traces_endpoint": "http://otel.example:4318/v1/traces"},
}

func TestRegistryHasEverySchema(t *testing.T) {
	t.Parallel()
	reg := plugins.Registry()
	require.Equal(t, pluginschema.Names(), reg.Names())
	for _, name := range reg.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := plugintest.Fixture()
			cfg.Plugins = []*model.Plugin{plugintest.Plugin(t, "p-"+name, name, minimal[name])}
			set, err := plugin.Build(reg, cfg)
			require.NoError(t, err, "defaults decode into the plugin's config")
			require.False(t, set.Empty())
			require.NoError(t, set.Close(), "nothing was started")
		})
	}
}
