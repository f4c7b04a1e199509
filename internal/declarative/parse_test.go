package declarative_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		// want maps each expected problem path to a part of its message.
		want map[string]string
	}{
		{
			desc: "missing format version",
			in:   "services: []",
			want: map[string]string{"_format_version": "required field missing"},
		},
		{
			desc: "wrong format version",
			in:   `_format_version: "0.9"`,
			want: map[string]string{"_format_version": "expected one of: 3.0, 2.1, 1.1"},
		},
		{
			desc: "not yaml",
			in:   "_format_version: [",
			want: map[string]string{"": "failed parsing declarative configuration"},
		},
		{
			desc: "unknown top-level key and field",
			in: `_format_version: "3.0"
servicez: []
services: [{name: a, host: a.local, colour: blue}]`,
			want: map[string]string{"servicez": "unknown field", "services[0].colour": "unknown field"},
		},
		{
			desc: "bad regex path on a nested route",
			in: `_format_version: "3.0"
services:
  - name: a
    host: a.local
    routes:
      - paths: [/ok]
      - paths: ["/fine", "~/(unclosed"]`,
			want: map[string]string{"services[0].routes[1].paths[1]": "invalid regex: '/(unclosed' ("},
		},
		{
			desc: "every bad field of a service",
			in: `_format_version: "3.0"
services:
  - name: "bad name!"
    port: 70000
    retries: -1
    connect_timeout: 0`,
			want: map[string]string{
				"services[0].host":            "required field missing",
				"services[0].name":            "the only accepted ascii characters",
				"services[0].port":            "value should be between 0 and 65535",
				"services[0].retries":         "value should be between 0 and 32767",
				"services[0].connect_timeout": "value should be between 1 and 2147483646",
			},
		},
		{
			desc: "wrong type",
			in: `_format_version: "3.0"
services: [{host: a.local, port: eighty}]`,
			want: map[string]string{"services[0].port": "expected an integer"},
		},
		{
			desc: "route without matching fields",
			in: `_format_version: "3.0"
routes: [{name: r}]`,
			want: map[string]string{"routes[0]": "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'http'"},
		},
		{
			desc: "duplicate names",
			in: `_format_version: "3.0"
services: [{name: a, host: a.local}, {name: a, host: b.local}]`,
			want: map[string]string{"services[1].name": "uniqueness violation: 'services' entity with name set to 'a' already declared"},
		},
		{
			desc: "duplicate api keys are reported without the key",
			in: `_format_version: "3.0"
consumers:
  - username: a
    keyauth_credentials: [{key: top-secret-key}]
  - username: b
    keyauth_credentials: [{key: top-secret-key}]`,
			want: map[string]string{"consumers[1].keyauth_credentials[0].key": "uniqueness violation: 'keyauth_credentials' entity with the same key already declared"},
		},
		{
			desc: "duplicate ids",
			in: `_format_version: "3.0"
consumers:
  - {id: 0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b, username: a}
  - {id: 0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b, username: b}`,
			want: map[string]string{"consumers[1].id": "already declared"},
		},
		{
			desc: "dangling references",
			in: `_format_version: "3.0"
routes: [{paths: [/], service: nowhere}]
keyauth_credentials: [{key: k, consumer: 0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b}]
targets: [{target: a.local}]`,
			want: map[string]string{
				"routes[0].service":               "invalid reference 'service: nowhere' (no such entry in 'services')",
				"keyauth_credentials[0].consumer": "no such entry in 'consumers'",
				"targets[0].upstream":             "required field missing",
			},
		},
		{
			desc: "dangling certificate references",
			in: `_format_version: "3.0"
_transform: "yes"
services:
  - host: a.local
    client_certificate: {id: 0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b}
    ca_certificates: [0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b, 42]
snis: [{name: a.example.com, certificate: nope}, b.example.com]`,
			want: map[string]string{
				"_transform":                     "expected a boolean",
				"services[0].client_certificate": "no such entry in 'certificates'",
				"services[0].ca_certificates[0]": "no such entry in 'ca_certificates'",
				"services[0].ca_certificates[1]": "expected a string or a record",
				"snis[0].certificate":            "invalid reference 'certificate: nope'",
				"snis[1]":                        "expected a record",
			},
		},
		{
			desc: "nested child naming another parent",
			in: `_format_version: "3.0"
services:
  - {name: a, host: a.local}
  - name: b
    host: b.local
    routes: [{paths: [/], service: a}]`,
			want: map[string]string{"services[1].routes[0].service": "does not match the enclosing service"},
		},
		{
			desc: "consumer without username or custom_id",
			in: `_format_version: "3.0"
consumers: [{tags: ["a,b"]}]`,
			want: map[string]string{
				"consumers[0]":         "at least one of these fields must be non-empty: 'custom_id', 'username'",
				"consumers[0].tags[0]": "invalid tag 'a,b'",
			},
		},
		{
			desc: "unknown plugin",
			in: `_format_version: "3.0"
plugins: [{name: no-such-plugin}]`,
			want: map[string]string{"plugins[0].name": "plugin 'no-such-plugin' is not supported; supported plugins: acl, aws-lambda, basic-auth, "},
		},
		{
			desc: "entity that is not a record",
			in: `_format_version: "3.0"
services: [just-a-string]
consumers: {username: a}`,
			want: map[string]string{"services[0]": "expected a record", "consumers": "expected an array"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			cfg, err := declarative.Parse([]byte(tc.in))
			require.Nil(t, cfg)
			var de *declarative.Error
			require.True(t, errors.As(err, &de), "got %v", err)
			require.NotContains(t, err.Error(), "top-secret-key", "secrets never appear in errors")
			got := map[string]string{}
			for _, p := range de.Problems {
				got[p.Path] = p.Message
			}
			for path, msg := range tc.want {
				require.Contains(t, got, path, "problems: %v", de.Problems)
				require.Contains(t, got[path], msg)
			}
			require.Len(t, got, len(tc.want), "problems: %v", de.Problems)
		})
	}
}

func TestErrorToModel(t *testing.T) {
	t.Parallel()
	_, err := declarative.Parse([]byte(`_format_version: "3.0"
services:
  - host: a.local
  - name: b
    routes: [{paths: [x]}]`))
	var de *declarative.Error
	require.ErrorAs(t, err, &de)
	me := de.ToModel()
	require.Equal(t, model.CodeInvalidDeclarative, me.Code)
	require.Equal(t, "invalid declarative configuration", me.Name)
	require.Equal(t, map[string]any{
		"services": []any{nil, map[string]any{
			"host":   "required field missing",
			"routes": []any{map[string]any{"paths": []any{"should start with: / (fixed path) or ~/ (regex path)"}}},
		}},
	}, me.Fields)
	require.True(t, strings.HasPrefix(me.Message, "declarative config is invalid: {services={[2]={"), me.Message)
	require.Contains(t, err.Error(), "services[1].routes[0].paths[0]: should start with")
}

func TestURLShorthand(t *testing.T) {
	tests := []struct {
		desc, url, protocol, host, path string
		port                            int
	}{
		{desc: "http default port", url: "http://example.com", protocol: "http", host: "example.com", port: 80},
		{desc: "https default port", url: "https://example.com/api/v1", protocol: "https", host: "example.com", port: 443, path: "/api/v1"},
		{desc: "explicit port", url: "http://10.0.0.1:8080/x", protocol: "http", host: "10.0.0.1", port: 8080, path: "/x"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			cfg, err := declarative.Parse([]byte("_format_version: \"3.0\"\nservices: [{name: s, url: \"" + tc.url + "\"}]"))
			require.NoError(t, err)
			s := cfg.Services[0]
			require.Equal(t, tc.protocol, s.Protocol)
			require.Equal(t, tc.host, s.Host)
			require.Equal(t, tc.port, s.Port)
			require.Empty(t, s.URL)
			if tc.path == "" {
				require.Nil(t, s.Path)
			} else {
				require.Equal(t, tc.path, *s.Path)
			}
		})
	}
}

func TestReferences(t *testing.T) {
	t.Parallel()
	cfg, err := declarative.Parse([]byte(`_format_version: "3.0"
services:
  - {id: 0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b, name: a, host: a.local}
routes:
  - {name: by-name, service: a, paths: [/1]}
  - {name: by-id, service: 0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b, paths: [/2]}
  - {name: by-record, service: {id: 0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b}, paths: [/3]}
consumers:
  - username: dave
    keyauth_credentials: [{key: dave-key}]
basicauth_credentials:
  - {username: dave, password: plain-secret, consumer: dave}
`))
	require.NoError(t, err)
	for _, r := range cfg.Routes {
		require.Equal(t, "0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b", r.Service.ID, *r.Name)
	}
	dave := cfg.Consumers[0].ID
	require.Equal(t, dave, cfg.KeyAuths[0].Consumer.ID)
	require.Equal(t, dave, cfg.BasicAuths[0].Consumer.ID)
	require.True(t, model.IsPasswordHash(cfg.BasicAuths[0].Password))
	require.True(t, model.CheckPassword(cfg.BasicAuths[0].Password, "plain-secret"))
}

// TestPlugins checks plugin nesting and scopes; it tolerates plugins that
// this build has no schema for, which must then be reported.
func TestPlugins(t *testing.T) {
	t.Parallel()
	in := `_format_version: "3.0"
services:
  - name: s
    host: s.local
    plugins: [{name: key-auth}]
    routes:
      - name: r
        paths: [/]
        plugins: [{name: rate-limiting, config: {minute: 5}}]
consumers:
  - username: c
    plugins: [{name: request-termination, config: {status_code: 403}}]
plugins:
  - {name: correlation-id, service: s, consumer: c}
`
	cfg, err := declarative.Parse([]byte(in))
	names := []string{"key-auth", "rate-limiting", "request-termination", "correlation-id"}
	paths := []string{"services[0].plugins[0].name", "services[0].routes[0].plugins[0].name",
		"consumers[0].plugins[0].name", "plugins[0].name"}
	if err != nil {
		var de *declarative.Error
		require.ErrorAs(t, err, &de)
		for _, p := range de.Problems {
			require.Contains(t, paths, p.Path, "unexpected problem %s", p)
			require.Contains(t, p.Message, "is not supported")
		}
		return
	}
	require.Len(t, cfg.Plugins, len(names))
	byName := map[string]*model.Plugin{}
	for _, p := range cfg.Plugins {
		byName[p.Name] = p
	}
	require.Equal(t, cfg.Services[0].ID, byName["key-auth"].Service.ID)
	require.Equal(t, cfg.Routes[0].ID, byName["rate-limiting"].Route.ID)
	require.Equal(t, cfg.Consumers[0].ID, byName["request-termination"].Consumer.ID)
	require.Equal(t, cfg.Consumers[0].ID, byName["correlation-id"].Consumer.ID)
	require.Equal(t, cfg.Services[0].ID, byName["correlation-id"].Service.ID)

	out, err := declarative.Export(cfg)
	require.NoError(t, err)
	again, err := declarative.Parse(out)
	require.NoError(t, err)
	require.Equal(t, mustJSON(t, cfg), mustJSON(t, again))
}

func TestErrorToModelEntityMessages(t *testing.T) {
	t.Parallel()
	_, err := declarative.Parse([]byte(`_format_version: "3.0"
routes:
  - tags: ["a/b"]`))
	var de *declarative.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, map[string]any{
		"routes": []any{map[string]any{
			"@entity": []any{"must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'http'"},
			"tags":    []any{"invalid tag 'a/b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"},
		}},
	}, de.ToModel().Fields)
}

func TestProblemsInDocumentOrder(t *testing.T) {
	t.Parallel()
	doc := "_format_version: \"3.0\"\nconsumers:\n"
	for range 12 {
		doc += "  - {}\n"
	}
	_, err := declarative.Parse([]byte(doc))
	var de *declarative.Error
	require.ErrorAs(t, err, &de)
	require.Len(t, de.Problems, 12)
	require.Equal(t, "consumers[2]", de.Problems[2].Path)
	require.Equal(t, "consumers[11]", de.Problems[11].Path)
}
