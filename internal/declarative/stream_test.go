package declarative

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStreamMatchesWhole: reading a document a top-level entity at a
// time builds the configuration, and reports the problems, that reading
// it whole does; documents that use YAML the stream leaves to yaml.v3
// are read whole.
func TestStreamMatchesWhole(t *testing.T) {
	t.Parallel()
	docs := map[string]string{
		// Sections out of model.Kinds order, names shared between nested
		// and top-level entities: the later one is the duplicate, in the
		// order a whole reading finds them.
		"sections out of order": `
plugins:
- name: key-auth
  service: a
consumers:
- username: u
  plugins: [{name: key-auth}]
services:
- name: a
  host: h
  plugins: [{name: key-auth}]
  routes: [{name: r, paths: [/x]}]
- name: a
  host: h2
routes:
- name: r
  paths: [/y]
  service: a
_format_version: "3.0"
`,
		"errors everywhere": `
_format_version: "3.0"
_transform: 1
nope: 2
services:
- name: s
  host: 7
  retries: lots
  unknown: 1
  routes: [{paths: [x], service: other}, 5]
- 4
consumers: {username: x}
upstreams:
- name: u
  targets: [{target: "a:1"}, {target: "a:1"}]
`,
		"format version missing": `
services:
- host: 7
`,
		"format version last, json": `{"services":[{"name":"s","url":"http://h:1/p","routes":[{"paths":["/a"]}]}],"_format_version":"3.0"}`,
		"scalars": `
_format_version: "3.0"
services:
- name: "null"
  host: h
  port: 0x1F90
  retries: ~
  connect_timeout: 1e3
  tags: [2001-12-14, "1", yes, true, .inf]
  1: one
`,
		"null sections": `
_format_version: "3.0"
services:
routes: []
consumers: [~]
`,
		"sni strings": `
_format_version: "3.0"
certificates:
- cert: x
  key: y
  snis: [a.test, {name: b.test}]
`,
	}
	for _, name := range []string{"full.yml", "kong-entities.yml", "minimal.json", "references.yml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		docs[name] = string(data)
	}
	for desc, doc := range docs {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			streamed, err := parseStream([]byte(doc))
			require.NotErrorIs(t, err, errWhole, "the document is streamed")
			whole, wholeErr := parseWhole([]byte(doc))
			require.Equal(t, errString(wholeErr), errString(err))
			a, _ := json.Marshal(streamed)
			b, _ := json.Marshal(whole)
			require.JSONEq(t, string(b), string(a))
		})
	}
}

func errString(err error) string {
	var e *Error
	if errors.As(err, &e) {
		m, _ := json.Marshal(e.ToModel())
		return e.Error() + "\n" + string(m)
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestStreamLeavesToWhole: what only a whole reading handles is read
// whole, with yaml.v3's errors.
func TestStreamLeavesToWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ desc, doc string }{
		{"anchor and alias", "_format_version: \"3.0\"\nservices:\n- &s {name: a, host: h}\nroutes:\n- {paths: [/], service: *s}\n"},
		{"merge key", "_format_version: \"3.0\"\nx: &d {host: h}\nservices:\n- <<: *d\n  name: a\n"},
		{"tag", "_format_version: !!str 3.0\nservices: []\n"},
		{"duplicate key", "_format_version: \"3.0\"\nservices:\n- name: a\n  name: b\n  host: h\n"},
		{"duplicate top-level key", "_format_version: \"3.0\"\nservices: []\nservices: []\n"},
		{"syntax error late", "_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n- {{{\n"},
		{"not a mapping", "- a\n- b\n"},
		{"empty", ""},
		{"second document", "_format_version: \"3.0\"\n---\n{{{\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := parseStream([]byte(tc.doc))
			if tc.desc != "second document" {
				require.ErrorIs(t, err, errWhole)
			}
			cfg, err := Parse([]byte(tc.doc))
			whole, wholeErr := parseWhole([]byte(tc.doc))
			require.Equal(t, errString(wholeErr), errString(err))
			a, _ := json.Marshal(cfg)
			b, _ := json.Marshal(whole)
			require.JSONEq(t, string(b), string(a))
		})
	}
}
