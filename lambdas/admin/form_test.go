package admin_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func testFormBodies(t *testing.T, c *client) {
	svc := c.must(http.StatusCreated, "POST", "/services", form("name=svc&host=a.internal&port=8080&retries=2&enabled=false"))
	require.Equal(t, 8080.0, svc["port"])
	require.Equal(t, 2.0, svc["retries"])
	require.Equal(t, false, svc["enabled"])

	tests := []struct {
		desc, data string
		want       map[string]any
	}{
		{"array brackets", "name=r1&paths[]=/a&paths[]=/b", map[string]any{"paths": []any{"/a", "/b"}}},
		{"array indexes", "name=r2&paths[2]=/b&paths[1]=/a", map[string]any{"paths": []any{"/a", "/b"}}},
		{"repeated key", "name=r3&paths=/a&paths=/b", map[string]any{"paths": []any{"/a", "/b"}}},
		{"single value", "name=r4&paths=/a&strip_path=false", map[string]any{"paths": []any{"/a"}, "strip_path": false}},
		{"map of arrays", "name=r5&headers.x-env=prod&headers.x-env=stage", map[string]any{
			"headers": map[string]any{"x-env": []any{"prod", "stage"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			b := c.must(http.StatusCreated, "POST", "/services/svc/routes", form(tc.data))
			requireFields(t, tc.want, b)
		})
	}

	up := c.must(http.StatusCreated, "POST", "/upstreams",
		form("name=up&healthchecks.active.http_path=/health&healthchecks.active.timeout=2.5&healthchecks.active.healthy.http_statuses[]=200"))
	active := up["healthchecks"].(map[string]any)["active"].(map[string]any)
	require.Equal(t, "/health", active["http_path"])
	require.Equal(t, 2.5, active["timeout"])
	require.Equal(t, []any{200.0}, active["healthy"].(map[string]any)["http_statuses"])

	// An empty value is null.
	p := c.must(http.StatusOK, "PATCH", "/services/svc", form("path=/x"))
	require.Equal(t, "/x", p["path"])
	p = c.must(http.StatusOK, "PATCH", "/services/svc", form("path="))
	require.Nil(t, p["path"])

	r := c.do("POST", "/services", form("host=h&port=abc"))
	requireCode(t, r, http.StatusBadRequest, 2)
	require.Equal(t, map[string]any{"port": "expected an integer"}, r.body["fields"])

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("username", "multi"))
	fw, err := mw.CreateFormFile("custom_id", "id.txt")
	require.NoError(t, err)
	_, err = fw.Write([]byte("from-a-file"))
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	b := c.must(http.StatusCreated, "POST", "/consumers", formBody{contentType: mw.FormDataContentType(), data: buf.String()})
	require.Equal(t, "multi", b["username"])
	require.Equal(t, "from-a-file", b["custom_id"])
}
