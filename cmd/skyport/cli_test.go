package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommandLine: what the command line answers before any command
// runs: usage, the version, help with environment twins only where the
// command has them, and a data plane with nothing to serve.
func TestCommandLine(t *testing.T) {
	t.Setenv("SKYPORT_CP_URL", "")
	t.Setenv("SKYPORT_DECLARATIVE_CONFIG", "")
	t.Setenv("SKYPORT_FALLBACK_URL", "")
	goVersion := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		desc       string
		args       []string
		code       int
		stdout     []string // each must appear
		stderr     []string
		notStderr  []string // none may appear
		emptyOut   bool
		emptyError bool
	}{
		{desc: "no arguments", args: nil, code: 2, stderr: []string{"Usage: skyport <command>", "wait", "version"}, emptyOut: true},
		{desc: "help", args: []string{"--help"}, code: 0, stdout: []string{"Usage: skyport <command>"}, emptyError: true},
		{desc: "version", args: []string{"version"}, code: 0, stdout: []string{"skyport " + version + " (commit ", goVersion + ")"}, emptyError: true},
		{desc: "--version", args: []string{"--version"}, code: 0, stdout: []string{"skyport " + version + " (commit ", goVersion + ")"}, emptyError: true},
		{desc: "version with an argument", args: []string{"version", "x"}, code: 2, emptyOut: true},
		{desc: "unknown command", args: []string{"serve"}, code: 2, stderr: []string{`unknown command "serve"`}},
		{desc: "dp help names its twins", args: []string{"dp", "--help"}, code: 0,
			stderr: []string{"-log-format", "-access-log", "Every flag has an environment twin: --cp-url ⇔ SKYPORT_CP_URL"}},
		{desc: "local help names its twins", args: []string{"local", "--help"}, code: 0,
			stderr: []string{"-log-level", "-access-log", "Every flag has an environment twin: --admin-listen ⇔ SKYPORT_ADMIN_LISTEN"}},
		{desc: "health help names its own flag", args: []string{"health", "--help"}, code: 0,
			stderr: []string{"Every flag has an environment twin: --status-listen ⇔ SKYPORT_STATUS_LISTEN"}},
		{desc: "config validate has no twins", args: []string{"config", "validate", "--help"}, code: 0, notStderr: []string{"environment twin"}},
		{desc: "config convert has no twins", args: []string{"config", "convert", "--help"}, code: 0, notStderr: []string{"environment twin"}},
		{desc: "wait has no twins", args: []string{"wait", "--help"}, code: 0, stderr: []string{"-revision", "-status-url"}, notStderr: []string{"environment twin"}},
		{desc: "wait without a revision", args: []string{"wait"}, code: 2, stderr: []string{"--revision N"}},
		{desc: "a data plane with nothing to serve", args: []string{"dp", "--proxy-listen", "127.0.0.1:0", "--status-listen", "127.0.0.1:0"}, code: 1,
			stderr: []string{"--cp-url (SKYPORT_CP_URL)", "--declarative-config (SKYPORT_DECLARATIVE_CONFIG)"}, emptyOut: true},
		{desc: "a bad log format", args: []string{"dp", "--log-format", "xml", "--declarative-config", "kong.yml"}, code: 1, stderr: []string{"--log-format"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			require.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", stdout, stderr)
			for _, s := range tt.stdout {
				require.Contains(t, stdout, s)
			}
			for _, s := range tt.stderr {
				require.Contains(t, stderr, s)
			}
			for _, s := range tt.notStderr {
				require.NotContains(t, stderr, s)
			}
			if tt.emptyOut {
				require.Empty(t, stdout)
			}
			if tt.emptyError {
				require.Empty(t, stderr)
			}
			if code == 1 {
				require.Equal(t, 1, strings.Count(stderr, "\n"), "a one-line error: %q", stderr)
			}
		})
	}
}
