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
