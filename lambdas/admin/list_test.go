package admin_test

import (
	"fmt"
	"net/http"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func testPagination(t *testing.T, c *client) {
	var want []string
	for i := range 25 {
		b := c.must(http.StatusCreated, "POST", "/consumers", map[string]any{"username": fmt.Sprintf("user-%02d", i)})
		want = append(want, b["id"].(string))
	}
	sort.Strings(want)

	var got []string
	pages := 0
	path := "/consumers?size=10"
	for path != "" {
		b := c.must(http.StatusOK, "GET", path, nil)
		pages++
		for _, e := range b["data"].([]any) {
			got = append(got, e.(map[string]any)["id"].(string))
		}
		path = ""
		if next, ok := b["next"].(string); ok {
			require.NotEmpty(t, b["offset"])
			require.Contains(t, next, "size=10")
			path = next
		} else {
			require.Nil(t, b["next"])
			require.NotContains(t, b, "offset")
		}
	}
	require.Equal(t, 3, pages)
	sort.Strings(got)
	require.Equal(t, want, got, "every entity exactly once")

	b := c.must(http.StatusOK, "GET", "/consumers", nil)
	require.Len(t, b["data"], 25, "the default size is 100")
}

func testTagsFilter(t *testing.T, c *client) {
	for name, tags := range map[string][]string{
		"ab": {"a", "b"}, "a": {"a"}, "b": {"b"}, "c": {"c"}, "none": nil,
	} {
		c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": name, "host": "h", "tags": tags})
	}
	tests := []struct {
		desc, query string
		want        []string
	}{
		{"one tag", "tags=a", []string{"a", "ab"}},
		{"and", "tags=a,b", []string{"ab"}},
		{"or", "tags=a/c", []string{"a", "ab", "c"}},
		{"no match", "tags=z", nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			b := c.must(http.StatusOK, "GET", "/services?"+tc.query, nil)
			var names []string
			for _, e := range b["data"].([]any) {
				names = append(names, e.(map[string]any)["name"].(string))
			}
			sort.Strings(names)
			require.Equal(t, tc.want, names)
		})
	}
	// Paging keeps the filter.
	b := c.must(http.StatusOK, "GET", "/services?tags=a&size=1", nil)
	require.Contains(t, b["next"], "tags=a")
	b = c.must(http.StatusOK, "GET", b["next"].(string), nil)
	require.Len(t, b["data"], 1)
}

// testListFilters replays the filters Kong's clients send: go-kong's
// Consumers.GetByCustomID sends /consumers?custom_id=…, which Kong answers
// with that consumer alone (kong/api/routes/consumers.lua); a parameter
// naming a field no list filters by is refused rather than ignored.
func testListFilters(t *testing.T, c *client) {
	for i := range 5 {
		c.must(http.StatusCreated, "POST", "/consumers", map[string]any{
			"username": fmt.Sprintf("user-%d", i), "custom_id": fmt.Sprintf("ext-%d", i)})
	}
	c.must(http.StatusCreated, "POST", "/services", map[string]any{"name": "s", "host": "example.com"})

	tests := []struct {
		desc   string
		path   string
		status int
		want   []string // usernames or names, in order
		code   float64
		msg    string
	}{
		{desc: "custom_id finds one", path: "/consumers?custom_id=ext-3", status: 200, want: []string{"user-3"}},
		{desc: "custom_id finds none", path: "/consumers?custom_id=nobody", status: 200, want: []string{}},
		{desc: "custom_id with size", path: "/consumers?custom_id=ext-0&size=1", status: 200, want: []string{"user-0"}},
		{desc: "empty custom_id", path: "/consumers?custom_id=", status: 400, msg: "custom_id must be an unempty string"},
		{desc: "username is not a filter", path: "/consumers?username=user-1", status: 400, code: 11,
			msg: "invalid option (username: filtering by this field is not supported; this list filters by custom_id, tags, size and offset)"},
		{desc: "name is not a filter", path: "/services?name=s", status: 400, code: 11},
		{desc: "host is not a filter", path: "/services?host=example.com&size=5", status: 400, code: 11},
		{desc: "a nested list refuses its reference field", path: "/services/s/routes?service=x", status: 400, code: 11},
		{desc: "a parameter that names no field is ignored, as Kong does", path: "/services?_=12345", status: 200, want: []string{"s"}},
	}
	for _, tc := range tests {
		r := c.do("GET", tc.path, nil)
		require.Equal(t, tc.status, r.status, "%s: %s", tc.desc, r.raw)
		if tc.code != 0 {
			require.Equal(t, tc.code, r.body["code"], tc.desc)
			require.Equal(t, "invalid options", r.body["name"], tc.desc)
		}
		if tc.msg != "" {
			require.Equal(t, tc.msg, r.body["message"], tc.desc)
		}
		if tc.want == nil {
			continue
		}
		names := []string{}
		for _, e := range r.body["data"].([]any) {
			m := e.(map[string]any)
			n, ok := m["username"].(string)
			if !ok {
				n = m["name"].(string)
			}
			names = append(names, n)
		}
		require.Equal(t, tc.want, names, tc.desc)
		require.Contains(t, r.body, "next", tc.desc)
		require.Nil(t, r.body["next"], tc.desc)
	}
}
