package proxy_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/declarative"
)

const kongYML = `_format_version: "3.0"
services:
  - name: users
    url: http://%[1]s/api
    routes:
      - name: users-prefix
        paths: [/users]
      - name: users-host
        hosts: [users.example.com]
  - name: orders
    url: http://%[2]s
    routes:
      - name: orders-regex
        paths: ["~/orders/(?<id>\\d+)$"]
        strip_path: false
      - name: orders-method
        methods: [POST]
        paths: [/orders]
      - name: orders-header
        headers:
          X-Version: ["2"]
        paths: [/orders]
      - name: wild
        hosts: ["*.wild.test"]
  - name: pooled
    host: pool.internal
    path: /base
    routes:
      - name: pooled
        paths: [/pool]
upstreams:
  - name: pool.internal
    targets:
      - target: %[3]s
      - target: %[4]s
      - target: %[5]s
`

func TestKongYML(t *testing.T) {
	t.Parallel()
	users, orders := newBackend(t, "users", nil), newBackend(t, "orders", nil)
	t1, t2, t3 := newBackend(t, "t1", nil), newBackend(t, "t2", nil), newBackend(t, "t3", nil)
	cfg, err := declarative.Parse([]byte(fmt.Sprintf(kongYML, users.addr, orders.addr, t1.addr, t2.addr, t3.addr)))
	require.NoError(t, err)
	_, front := newProxy(t, cfg)

	tests := []struct {
		desc, method, path string
		header             []string
		status             int
		backend, uri       string
	}{
		{desc: "prefix path stripped onto service path", path: "/users/42?x=1", status: 200, backend: "users", uri: "/api/42?x=1"},
		{desc: "reserved characters stay encoded", path: "/users/a%2Fb%20c%7E", status: 200, backend: "users", uri: "/api/a%2Fb%20c~"},
		{desc: "dot segments resolved", path: "/x/../users/./y", status: 200, backend: "users", uri: "/api/y"},
		{desc: "host only", path: "/", header: []string{"Host", "users.example.com"}, status: 200, backend: "users", uri: "/api"},
		{desc: "regex path kept", path: "/orders/17", status: 200, backend: "orders", uri: "/orders/17"},
		{desc: "method and path", method: "POST", path: "/orders/new", status: 200, backend: "orders", uri: "/new"},
		{desc: "header and path", path: "/orders", header: []string{"X-Version", "2"}, status: 200, backend: "orders", uri: "/"},
		{desc: "wildcard host", path: "/anything", header: []string{"Host", "a.wild.test"}, status: 200, backend: "orders", uri: "/anything"},
		{desc: "no route", path: "/orders", status: 404},
		{desc: "nothing at all", path: "/nothing", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, front.URL+tc.path, strings.NewReader(""))
			require.NoError(t, err)
			for i := 0; i+1 < len(tc.header); i += 2 {
				if tc.header[i] == "Host" {
					req.Host = tc.header[i+1]
				} else {
					req.Header.Set(tc.header[i], tc.header[i+1])
				}
			}
			res, err := front.Client().Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, tc.status, res.StatusCode)
			if tc.status == 404 {
				assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
				var body map[string]string
				require.NoError(t, jsonDecode(res, &body))
				assert.Equal(t, "no Route matched with those values", body["message"])
				return
			}
			var e echo
			require.NoError(t, jsonDecode(res, &e))
			assert.Equal(t, tc.backend, e.Backend)
			assert.Equal(t, tc.uri, e.URI)
		})
	}

	t.Run("upstream with three targets, round-robin", func(t *testing.T) {
		seen := map[string]int{}
		for range 9 {
			res, e := get(t, front, "/pool/x")
			require.Equal(t, 200, res.StatusCode)
			assert.Equal(t, "/base/x", e.URI)
			assert.Equal(t, "127.0.0.1:"+strings.Split(e.Host, ":")[1], e.Host, "Host is the target's")
			seen[e.Backend]++
		}
		assert.Equal(t, map[string]int{"t1": 3, "t2": 3, "t3": 3}, seen)
	})
}
