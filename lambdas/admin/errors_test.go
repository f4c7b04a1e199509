package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func testErrors(t *testing.T, c *client) {
	svc := c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "svc", "host": "a.internal"})
	c.must(http.StatusCreated, "POST", "/services/svc/routes", map[string]any{"paths": []string{"/"}})
	tests := []struct {
		desc         string
		method, path string
		body         any
		status       int
		code         float64
		fields       map[string]any
	}{
		{desc: "required field", method: "POST", path: "/services", body: map[string]any{"name": "x"},
			status: 400, code: 2, fields: map[string]any{"host": "required field missing"}},
		{desc: "unknown field", method: "POST", path: "/services", body: map[string]any{"host": "h", "colour": "red"},
			status: 400, code: 2, fields: map[string]any{"colour": "unknown field"}},
		{desc: "integer expected", method: "POST", path: "/services", body: map[string]any{"host": "h", "port": "eighty"},
			status: 400, code: 2, fields: map[string]any{"port": "expected an integer"}},
		{desc: "fraction for an integer", method: "POST", path: "/services", body: map[string]any{"host": "h", "retries": 1.5},
			status: 400, code: 2, fields: map[string]any{"retries": "expected an integer"}},
		{desc: "string expected", method: "POST", path: "/services", body: map[string]any{"host": 5},
			status: 400, code: 2, fields: map[string]any{"host": "expected a string"}},
		{desc: "boolean expected", method: "POST", path: "/routes", body: map[string]any{"paths": []string{"/"}, "strip_path": "yes"},
			status: 400, code: 2, fields: map[string]any{"strip_path": "expected a boolean"}},
		{desc: "array expected", method: "POST", path: "/routes", body: map[string]any{"paths": "/"},
			status: 400, code: 2, fields: map[string]any{"paths": "expected an array"}},
		{desc: "nested record field", method: "POST", path: "/upstreams",
			body:   map[string]any{"name": "u", "healthchecks": map[string]any{"active": map[string]any{"timeout": "soon"}}},
			status: 400, code: 2, fields: map[string]any{"healthchecks": map[string]any{"active": map[string]any{"timeout": "expected a number"}}}},
		{desc: "invalid id", method: "POST", path: "/consumers", body: map[string]any{"id": "nope", "username": "u"},
			status: 400, code: 2},
		{desc: "unique violation", method: "POST", path: "/services", body: map[string]any{"name": "svc", "host": "h"},
			status: 409, code: 5},
		{desc: "primary key violation", method: "POST", path: "/services", body: map[string]any{"id": svc["id"], "host": "h"},
			status: 400, code: 3},
		{desc: "foreign key violation", method: "POST", path: "/routes",
			body:   map[string]any{"paths": []string{"/"}, "service": map[string]any{"id": "0b7e8d4a-8f43-4bd4-9a86-4f5bd4c9f1aa"}},
			status: 400, code: 4},
		{desc: "referenced by others", method: "DELETE", path: "/services/svc", status: 400, code: 4,
			fields: map[string]any{"@referenced_by": "routes"}},
		{desc: "invalid size", method: "GET", path: "/services?size=0", status: 400, code: 9},
		{desc: "size too large", method: "GET", path: "/services?size=1001", status: 400, code: 9},
		{desc: "size not a number", method: "GET", path: "/services?size=ten", status: 400, code: 9},
		{desc: "invalid offset", method: "GET", path: "/services?offset=not-base64!", status: 400, code: 7},
		{desc: "mixed tag operators", method: "GET", path: "/services?tags=a,b/c", status: 400, code: 2},
		{desc: "id in the body disagrees with the path", method: "PATCH", path: "/services/svc",
			body: map[string]any{"id": "0b7e8d4a-8f43-4bd4-9a86-4f5bd4c9f1aa"}, status: 400, code: 2},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			rev := c.revision()
			r := c.do(tc.method, tc.path, tc.body)
			requireCode(t, r, tc.status, tc.code)
			if tc.fields != nil {
				require.Equal(t, tc.fields, r.body["fields"])
			}
			require.Equal(t, rev, c.revision(), "a failed request changes nothing")
		})
	}
}

func testPlainErrors(t *testing.T, c *client) {
	c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "svc", "host": "a.internal"})
	tests := []struct {
		desc         string
		method, path string
		body         any
		status       int
		message      string
	}{
		{"unknown path", "GET", "/nope", nil, 404, "Not found"},
		{"too deep", "GET", "/services/svc/routes/x/y", nil, 404, "Not found"},
		{"unknown nested", "GET", "/services/svc/consumers", nil, 404, "Not found"},
		{"missing entity", "GET", "/services/missing", nil, 404, "Not found"},
		{"method on collection", "DELETE", "/services", nil, 405, "Method not allowed"},
		{"method on entity", "POST", "/services/svc", nil, 405, "Method not allowed"},
		{"method on root", "POST", "/", nil, 405, "Method not allowed"},
		{"bad json", "POST", "/services", "{not json", 400, "Cannot parse JSON body"},
		{"json array", "POST", "/services", "[1]", 400, "Cannot parse JSON body"},
		{"trailing data", "POST", "/services", `{"host":"h"} {}`, 400, "Cannot parse JSON body"},
		{"too large", "POST", "/services", `{"host":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "Request size limit exceeded"},
		{"patch missing", "PATCH", "/services/missing", map[string]any{"host": "h"}, 404, "Not found"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			rev := c.revision()
			r := c.do(tc.method, tc.path, tc.body)
			require.Equal(t, tc.status, r.status, "%s", r.raw)
			require.Equal(t, map[string]any{"message": tc.message}, r.body)
			require.Equal(t, rev, c.revision())
		})
	}
}
