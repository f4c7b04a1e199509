package declarative_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/declarative"
)

// TestParseFile: a file is read by its name as Kong reads it
// (kong/db/declarative/init.lua, unserialize): *.json as strict JSON,
// *.yml and *.yaml as YAML, any other name refused.
func TestParseFile(t *testing.T) {
	t.Parallel()
	const (
		doc           = `{"_format_version": "3.0", "services": [{"name": "a", "host": "a.internal"}]}`
		trailingComma = `{"_format_version": "3.0", "services": [{"name": "a", "host": "a.internal"},]}`
	)
	tests := []struct {
		desc    string
		name    string
		in      string
		wantErr string // part of the one problem's message; "" when valid
	}{
		{desc: "json", name: "kong.json", in: doc},
		{desc: "json with a trailing comma", name: "kong.json", in: trailingComma,
			wantErr: "failed parsing declarative configuration: invalid character ']' looking for beginning of value at character 77"},
		{desc: "json with a trailing comma in an object", name: "kong.json", in: `{"_format_version": "3.0",}`,
			wantErr: "failed parsing declarative configuration: invalid character '}' looking for beginning of object key string"},
		{desc: "yaml in a json file", name: "kong.json", in: "_format_version: \"3.0\"\n",
			wantErr: "failed parsing declarative configuration: invalid character"},
		{desc: "data after the document", name: "kong.json", in: doc + " {}",
			wantErr: "failed parsing declarative configuration: unexpected data after the document"},
		{desc: "truncated json", name: "kong.json", in: `{"_format_version": "3.0"`,
			wantErr: "failed parsing declarative configuration: unexpected end of the document"},
		{desc: "yml", name: "kong.yml", in: "_format_version: \"3.0\"\nservices: [{name: a, host: a.internal}]\n"},
		{desc: "yaml reads a flow list with a trailing comma", name: "kong.yaml", in: trailingComma},
		{desc: "unknown file type", name: "/etc/kong.conf", in: doc,
			wantErr: "unknown file type: kong.conf. (Accepted types: json, yaml)"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			cfg, err := declarative.ParseFile(tt.name, []byte(tt.in))
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Len(t, cfg.Services, 1)
				return
			}
			var de *declarative.Error
			require.True(t, errors.As(err, &de), "%v", err)
			require.Len(t, de.Problems, 1)
			require.Contains(t, de.Problems[0].Message, tt.wantErr)
		})
	}
}
