package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins"
	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

const validYAML = `_format_version: "3.0"
services:
  - name: echo
    url: http://echo.local:8080/v1
    routes:
      - name: echo
        paths: [/echo]
consumers:
  - username: alice
    keyauth_credentials: [{key: alice-key}]
`

const brokenYAML = `_format_version: "3.0"
services:
  - name: echo
    port: 99999
    routes:
      - paths: ["~/(unclosed"]
`

// runCLI runs the command line and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

// corsYAML has a cors plugin with the given origins (a YAML flow list).
func corsYAML(origins string) string {
	return validYAML + "plugins:\n  - name: cors\n    config: {origins: " + origins + "}\n"
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "kong.yml", validYAML)
	bad := writeFile(t, "broken.yml", brokenYAML)
	star := writeFile(t, "star.yml", corsYAML(`["http://a.test", "*"]`))
	badOrigin := writeFile(t, "origin.yml", corsYAML(`["http://a.test", "(?<=x)a.test"]`))
	trailingComma := writeFile(t, "kong.json", `{"_format_version": "3.0", "services": [{"name": "a", "host": "a.internal"},]}`)
	lowerMethod := writeFile(t, "methods.yml", "_format_version: \"3.0\"\nroutes: [{name: r, paths: [/], methods: [get]}]\n")
	conf := writeFile(t, "kong.conf", validYAML)

	tests := []struct {
		desc       string
		args       []string
		code       int
		stdout     []string
		stderr     []string
		notStderrs []string
	}{
		{desc: "valid", args: []string{"config", "validate", good}, code: 0,
			stdout: []string{good + ": ok (4 entities)"}},
		{desc: "broken", args: []string{"config", "validate", bad}, code: 1, stderr: []string{
			bad + ": services[0].host: required field missing\n",
			bad + ": services[0].port: value should be between 0 and 65535\n",
			bad + ": services[0].routes[0].paths[0]: invalid regex: '/(unclosed'",
			"skyport config: " + bad + ": invalid declarative configuration (3 errors)\n",
		}},
		// Kong's cors schema accepts "*" (kong/plugins/cors/schema.lua),
		// and so does the data plane.
		{desc: "cors with *", args: []string{"config", "validate", star}, code: 0, stdout: []string{star + ": ok (5 entities)"}},
		{desc: "cors origin the data plane cannot compile", args: []string{"config", "validate", badOrigin}, code: 1,
			stderr: []string{badOrigin + ": plugins[0].config.origins[1]: '(?<=x)a.test' is not a valid regex"}},
		{desc: "json with a trailing comma", args: []string{"config", "validate", trailingComma}, code: 1, stderr: []string{
			trailingComma + ": failed parsing declarative configuration: invalid character ']'",
			"invalid declarative configuration (1 error)\n",
		}},
		{desc: "lower-case method", args: []string{"config", "validate", lowerMethod}, code: 1, stderr: []string{
			"invalid value: get",
		}},
		{desc: "unknown file type", args: []string{"config", "validate", conf}, code: 1, stderr: []string{
			"unknown file type: kong.conf. (Accepted types: json, yaml)",
		}},
		{desc: "missing file", args: []string{"config", "validate", filepath.Join(t.TempDir(), "absent.yml")}, code: 1,
			stderr: []string{"skyport config: reading "}},
		{desc: "no file", args: []string{"config", "validate"}, code: 2, stderr: []string{"Usage: skyport config validate FILE"}},
		{desc: "help", args: []string{"config", "validate", "--help"}, code: 0, stderr: []string{"Usage: skyport config validate FILE"}},
		{desc: "config help", args: []string{"config", "--help"}, code: 0, stdout: []string{"validate FILE", "convert [flags] IN [OUT]"}},
		{desc: "no subcommand", args: []string{"config"}, code: 2, stderr: []string{"Usage: skyport config <subcommand>"}},
		{desc: "unknown subcommand", args: []string{"config", "lint"}, code: 2, stderr: []string{`unknown subcommand "lint"`}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, tc.args...)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", stdout, stderr)
			for _, s := range tc.stdout {
				require.Contains(t, stdout, s)
			}
			for _, s := range tc.stderr {
				require.Contains(t, stderr, s)
			}
		})
	}
}

func TestConfigConvert(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "kong.yml", validYAML)
	want, err := declarative.Parse([]byte(validYAML))
	require.NoError(t, err)
	wantJSON, err := json.Marshal(want)
	require.NoError(t, err)

	// YAML to JSON on stdout, and back to YAML in a file.
	code, stdout, stderr := runCLI(t, "config", "convert", "--to", "json", good)
	require.Equal(t, 0, code, stderr)
	require.True(t, strings.HasPrefix(stdout, "{"), stdout)
	jsonFile := writeFile(t, "kong.json", stdout)
	yamlOut := filepath.Join(t.TempDir(), "out.yml")
	code, _, stderr = runCLI(t, "config", "convert", jsonFile, yamlOut)
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(yamlOut)
	require.NoError(t, err)
	require.Contains(t, string(data), `_format_version: "3.0"`)
	back, err := declarative.Parse(data)
	require.NoError(t, err)
	backJSON, err := json.Marshal(back)
	require.NoError(t, err)
	require.JSONEq(t, string(wantJSON), string(backJSON))

	code, _, stderr = runCLI(t, "config", "convert", "--to", "xml", good)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `--to "xml": expected yaml, json or snapshot`)

	code, _, stderr = runCLI(t, "config", "convert", writeFile(t, "broken.yml", brokenYAML))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "services[0].host: required field missing")

	code, _, stderr = runCLI(t, "config", "convert", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, stderr, "-signing-key")
}

func TestConfigConvertSnapshot(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "kong.yml", validYAML)
	dir := t.TempDir()

	// With a throwaway key: its public half is written beside the output.
	out := filepath.Join(dir, "snap.json.gz")
	code, stdout, stderr := runCLI(t, "config", "convert", "--to", "snapshot", "--revision", "7", good, out)
	require.Equal(t, 0, code, stderr)
	var ptr snapshot.Pointer
	require.NoError(t, json.Unmarshal([]byte(stdout), &ptr))
	require.Equal(t, int64(7), ptr.Revision)
	pointerFile, err := os.ReadFile(out + ".pointer.json")
	require.NoError(t, err)
	require.JSONEq(t, stdout, string(pointerFile))
	pub, err := snapshot.LoadPublicKey(out + ".pub")
	require.NoError(t, err)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	doc, err := snapshot.Open(data, ptr, pub)
	require.NoError(t, err)
	require.Equal(t, 4, doc.Config.Len())

	// With a given key.
	keyDir := t.TempDir()
	kpub, _, err := snapshot.EnsureKeyPair(keyDir)
	require.NoError(t, err)
	out2 := filepath.Join(dir, "signed.json.gz")
	code, stdout, stderr = runCLI(t, "config", "convert", "--to", "snapshot",
		"--signing-key", filepath.Join(keyDir, "publisher.key"), good, out2)
	require.Equal(t, 0, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &ptr))
	data, err = os.ReadFile(out2)
	require.NoError(t, err)
	_, err = snapshot.Open(data, ptr, kpub)
	require.NoError(t, err)
	_, err = os.Stat(out2 + ".pub")
	require.True(t, os.IsNotExist(err), "no throwaway key when one is given")

	code, _, stderr = runCLI(t, "config", "convert", "--to", "snapshot", good)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "needs OUT")
}

// TestValidateMatchesTheDataPlane: what "skyport config validate" accepts
// is exactly what a data plane applies (the proxy compiles plugins with
// the same code), origin by origin.
func TestValidateMatchesTheDataPlane(t *testing.T) {
	t.Parallel()
	for _, origins := range []string{`["*"]`, `["http://a.test", "*"]`, `["http://a.test"]`, `["(.*[./])?a\\.test:9000"]`,
		`["(unclosed"]`, `["(?<=x)a.test"]`, `["*", "(?!x)"]`} {
		path := writeFile(t, "kong.yml", corsYAML(origins))
		code, _, stderr := runCLI(t, "config", "validate", path)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		cfg, parseErr := declarative.Parse(data)
		var applyErr error
		if parseErr == nil {
			px := proxy.New(proxy.Options{Registry: plugins.Registry()})
			applyErr = px.Apply(context.Background(), cfg, 1, "test")
			px.Close()
		}
		accepted := parseErr == nil && applyErr == nil
		require.Equal(t, accepted, code == 0, "origins %s: validate %d %s; data plane: parse %v, apply %v", origins, code, stderr, parseErr, applyErr)
	}
}
