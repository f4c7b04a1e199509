package admin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

const kongYML = `_format_version: "3.0"
services:
  - name: billing
    url: http://billing.internal:8080/v1
    routes:
      - name: billing-route
        paths: ["/billing"]
consumers:
  - username: alice
    keyauth_credentials:
      - key: alice-key
upstreams:
  - name: pool
    targets:
      - target: 10.0.0.1:80
`

func testDeclarativeConfig(t *testing.T, c *client) {
	c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": "replaced"})

	rev := c.revision()
	b := c.must(http.StatusCreated, "POST", "/config", formBody{contentType: "application/x-yaml", data: kongYML})
	require.Len(t, b["services"], 1)
	require.Equal(t, rev+1, c.revision(), "a whole replacement is one revision")
	c.must(http.StatusNotFound, "GET", "/consumers/replaced", nil)
	svc := c.must(http.StatusOK, "GET", "/services/billing", nil)
	require.Equal(t, 8080.0, svc["port"])
	require.Equal(t, float64(fixedNow.Unix()), svc["created_at"])
	c.must(http.StatusOK, "GET", "/routes/billing-route", nil)
	c.must(http.StatusOK, "GET", "/upstreams/pool/targets/10.0.0.1:80", nil)
	c.must(http.StatusOK, "GET", "/key-auths/alice-key", nil)

	// Loading the same file again with check_hash changes nothing.
	rev = c.revision()
	r := c.do("POST", "/config?check_hash=1", formBody{contentType: "application/x-yaml", data: kongYML})
	require.Equal(t, http.StatusNotModified, r.status)
	require.Equal(t, rev, c.revision())

	// GET /config exports kong.yml that loads back to the same entities.
	exported := c.must(http.StatusOK, "GET", "/config", nil)
	doc, ok := exported["config"].(string)
	require.True(t, ok)
	require.Contains(t, doc, "_format_version")
	r = c.do("POST", "/config?check_hash=1", formBody{contentType: "application/x-yaml", data: doc})
	require.Equal(t, http.StatusNotModified, r.status, "%s", r.raw)

	// The same document as JSON, wrapped in {"config": …}, and as a form field.
	wrapped, err := json.Marshal(map[string]string{"config": kongYML + "plugins: []\n"})
	require.NoError(t, err)
	c.must(http.StatusCreated, "POST", "/config", string(wrapped))
	c.must(http.StatusCreated, "POST", "/config", form("config="+url.QueryEscape(kongYML)))
	c.must(http.StatusOK, "GET", "/services/billing", nil)
}

func testDeclarativeConfigErrors(t *testing.T, c *client) {
	tests := []struct {
		desc string
		body any
	}{
		{"unknown field", "_format_version: \"3.0\"\nservices:\n  - name: s\n    host: h\n    colour: red\n"},
		{"not yaml", "services: [\n"},
		{"missing format version", "services: []\n"},
		{"empty body", nil},
		{"form without config", form("other=1")},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			rev := c.revision()
			r := c.do("POST", "/config", tc.body)
			requireCode(t, r, http.StatusBadRequest, 14)
			require.Contains(t, r.body["message"], "declarative config is invalid")
			require.Equal(t, rev, c.revision())
		})
	}
	r := c.do("PUT", "/config", nil)
	require.Equal(t, http.StatusMethodNotAllowed, r.status)
}
