package plugin_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/exchange"
	"github.com/skyport-gw/skyport/dataplane/plugin"
)

// TestFields: HeaderFields and ViewFields read a request's fields alike
// (any case, the first of several values, an empty value present), and
// Has on the view copies nothing (not parallel: AllocsPerRun).
func TestFields(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header["X-Long"] = []string{strings.Repeat("v", 100)}
	r.Header["X-Many"] = []string{"a", "b"}
	r.Header["X-Empty"] = []string{""}
	view := plugin.ViewFields{H: exchange.NewHTTPRequest(r).Header()}
	header := plugin.HeaderFields(r.Header.Clone())
	tests := []struct {
		name   string
		get    string
		has    bool
		values []string
	}{
		{"x-many", "a", true, []string{"a", "b"}},
		{"X-EMPTY", "", true, []string{""}},
		{"x-absent", "", false, nil},
	}
	for _, tc := range tests {
		for _, f := range []plugin.Fields{header, view} {
			require.Equal(t, tc.get, f.Get(tc.name), tc.name)
			require.Equal(t, tc.has, f.Has(tc.name), tc.name)
			require.Equal(t, tc.values, f.Values(tc.name), tc.name)
		}
	}
	allocs := testing.AllocsPerRun(10, func() {
		if !view.Has("X-Long") {
			t.Fatal("X-Long not found")
		}
	})
	require.Zero(t, allocs, "Has on the view")
}
