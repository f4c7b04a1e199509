package proxy

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestUpstreamPath follows the path_handling table of Kong's Route
// documentation, plus Kong's trailing-slash cases of get_upstream_uri.
func TestUpstreamPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, prefix, req string
		strip             bool
		handling          string
		want              string
	}{
		{"/s", "/fv0", "/fv0/req", false, "v0", "/s/fv0/req"},
		{"/s", "/fv0", "/fv0", false, "v0", "/s/fv0"},
		{"/s", "/fv1", "/fv1/req", false, "v1", "/sfv1/req"},
		{"/s", "/fv1", "/fv1", false, "v1", "/sfv1"},
		{"/s", "/tv0", "/tv0/req", true, "v0", "/s/req"},
		{"/s", "/tv0", "/tv0", true, "v0", "/s"},
		{"/s", "/tv1", "/tv1/req", true, "v1", "/s/req"},
		{"/s", "/tv1", "/tv1", true, "v1", "/s"},
		{"/s", "/fv0/", "/fv0/req", false, "v0", "/s/fv0/req"},
		{"/s", "/fv0/", "/fv0/", false, "v0", "/s/fv0/"},
		{"/s", "/fv1/", "/fv1/req", false, "v1", "/sfv1/req"},
		{"/s", "/fv1/", "/fv1/", false, "v1", "/sfv1/"},
		{"/s", "/tv0/", "/tv0/req", true, "v0", "/s/req"},
		{"/s", "/tv0/", "/tv0/", true, "v0", "/s/"},
		{"/s", "/tv1/", "/tv1/req", true, "v1", "/sreq"},
		{"/s", "/tv1/", "/tv1/", true, "v1", "/s"},
		// service path with a trailing slash
		{"/s/", "/p", "/p", true, "v0", "/s"},
		{"/s/", "/p", "/p/", true, "v0", "/s/"},
		{"/s/", "/p", "/p/x", true, "v0", "/s/x"},
		{"/s/", "/p", "/p/x", false, "v0", "/s/p/x"},
		{"/s/", "/p", "/p/x", true, "v1", "/s/x"},
		// no service path
		{"", "/p", "/p", true, "v0", "/"},
		{"", "/p", "/p/x", true, "v0", "/x"},
		{"", "/p", "/p/x", false, "v0", "/p/x"},
		{"/", "", "/", true, "v0", "/"},
		// route without paths
		{"/api", "", "/", true, "v0", "/api"},
		{"/api", "", "/x/", true, "v0", "/api/x/"},
		{"/api", "", "/x", true, "v1", "/apix"},
		// dot segments left after stripping
		{"/s", "/p", "/p..", true, "v0", "/s"},
	}
	for _, tc := range tests {
		t.Run(tc.handling+" "+tc.base+" "+tc.prefix+" "+tc.req, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, upstreamPath(tc.handling, tc.base, tc.req, tc.prefix, tc.strip))
		})
	}
}

func TestSetPathKeepsEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/plain", "/plain"},
		{"/a%2Fb/c%20d", "/a%2Fb/c%20d"},
		{"/a b%2F", "/a%20b%2F"},
		{"/caf\u00e9", "/caf%C3%A9"},
		{"/100%25", "/100%25"},
	}
	for _, tc := range tests {
		u := &url.URL{}
		setPath(u, tc.in)
		assert.Equal(t, tc.want, u.EscapedPath(), tc.in)
	}
}
