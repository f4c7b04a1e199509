package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestComponentHandler: one "component" key per line, the components a
// line was logged under joined with dots, in both formats.
func TestComponentHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		log  func(l *slog.Logger)
		want string // the component; "" when the line has none
	}{
		{"none", func(l *slog.Logger) { l.Info("m", "k", "v") }, ""},
		{"one", func(l *slog.Logger) { l.With("component", "dp").Info("m") }, "dp"},
		{"nested", func(l *slog.Logger) { l.With("component", "dp").With("component", "certs").Info("m") }, "dp.certs"},
		{"nested and on the line", func(l *slog.Logger) {
			l.With("component", "dp").With("component", "certs").Info("m", "component", "certmagic.maintenance")
		}, "dp.certs.certmagic.maintenance"},
		{"only on the line", func(l *slog.Logger) { l.Info("m", "component", "x") }, "x"},
		{"with other attributes", func(l *slog.Logger) { l.With("component", "a", "k", "v").With("component", "b").Info("m") }, "a.b"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			for _, format := range []string{"json", "text"} {
				var buf bytes.Buffer
				tt.log((&logFlags{Format: format, Level: "info"}).logger(&buf))
				line := buf.String()
				require.Equal(t, 1, strings.Count(line, "\n"), "one line: %s", line)
				if format == "json" {
					var m map[string]any
					require.NoError(t, json.Unmarshal([]byte(line), &m))
					got, _ := m["component"].(string)
					assert.Equal(t, tt.want, got, line)
					n := strings.Count(line, `"component":`)
					if tt.want == "" {
						assert.Zero(t, n, line)
					} else {
						assert.Equal(t, 1, n, "one component key: %s", line)
					}
					continue
				}
				n := strings.Count(line, " component=")
				if tt.want == "" {
					assert.Zero(t, n, line)
					continue
				}
				assert.Equal(t, 1, n, "one component key: %s", line)
				assert.Contains(t, line, " component="+tt.want, line)
			}
		})
	}
}

// TestComponentInGroup: a component inside a group is the group's own
// key, not a second top-level one.
func TestComponentInGroup(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	(&logFlags{Format: "json", Level: "info"}).logger(&buf).With("component", "a").WithGroup("g").With("component", "b").Info("m")
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	require.Equal(t, "a", m["component"])
	require.Equal(t, map[string]any{"component": "b"}, m["g"])
}

func TestLogFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		args    []string
		format  string
		wantErr string
	}{
		{desc: "defaults off a terminal", format: "json"},
		{desc: "text", args: []string{"--log-format", "text"}, format: "text"},
		{desc: "json", args: []string{"--log-format", "json"}, format: "json"},
		{desc: "debug", args: []string{"--log-level", "debug"}, format: "json"},
		{desc: "unknown format", args: []string{"--log-format", "yaml"}, wantErr: "--log-format"},
		{desc: "unknown level", args: []string{"--log-level", "loud"}, wantErr: "--log-level"},
		{desc: "level with an offset", args: []string{"--log-level", "info+2"}, wantErr: "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var o logFlags
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			o.register(fs)
			require.NoError(t, fs.Parse(tt.args))
			err := o.check()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.format, o.format(&bytes.Buffer{}))
		})
	}
	var o logFlags
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	o.register(fs)
	require.NoError(t, fs.Parse([]string{"--log-level", "warn"}))
	var buf bytes.Buffer
	l := o.logger(&buf)
	l.Info("hidden")
	l.Warn("shown")
	require.NotContains(t, buf.String(), "hidden")
	require.Contains(t, buf.String(), "shown")
}

// TestAccessLog: --access-log off, stdout or a file; JSON lines, or text
// when the process logs text.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	off, err := openAccessLog("off", "json", &stdout)
	require.NoError(t, err)
	require.Nil(t, off.logger)
	require.Nil(t, off.writer)
	require.NoError(t, off.close())

	js, err := openAccessLog("stdout", "json", &stdout)
	require.NoError(t, err)
	require.Nil(t, js.logger, "JSON lines are encoded without slog")
	_, err = js.writer.Write([]byte("{\"msg\":\"request\"}\n"))
	require.NoError(t, err)
	require.NoError(t, js.close())
	require.Equal(t, "{\"msg\":\"request\"}\n", stdout.String())

	stdout.Reset()
	text, err := openAccessLog("stdout", "text", &stdout)
	require.NoError(t, err)
	text.logger.Info("request", "path", "/x")
	require.NoError(t, text.close())
	require.Contains(t, stdout.String(), "msg=request path=/x")

	path := filepath.Join(t.TempDir(), "access.log")
	require.NoError(t, os.WriteFile(path, []byte("earlier\n"), 0o600))
	file, err := openAccessLog(path, "json", &stdout)
	require.NoError(t, err)
	_, err = file.writer.Write([]byte("{}\n"))
	require.NoError(t, err)
	require.NoError(t, file.close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "earlier\n{}\n", string(data), "appended")

	_, err = openAccessLog("", "json", &stdout)
	require.ErrorContains(t, err, "--access-log")
	_, err = openAccessLog(filepath.Join(t.TempDir(), "missing", "access.log"), "json", &stdout)
	require.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
}
