package proxy

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestUpstreamPath follows the v0 rows of Kong's path handling table
// (spec/fixtures/router_path_handling_tests.lua), plus Kong's
// trailing-slash cases of get_upstream_uri_v0 (kong/router/utils.lua).
// path_handling v1 rows are not here: the traditional_compatible router
// ignores path_handling (kong/router/atc.lua set_upstream_uri), which
// TestPathHandlingV1IsV0 checks through the proxy.
func TestUpstreamPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, prefix, req string
		strip             bool
		want              string
	}{
		{"/s", "/fv0", "/fv0/req", false, "/s/fv0/req"},
		{"/s", "/fv0", "/fv0", false, "/s/fv0"},
		{"/s", "/tv0", "/tv0/req", true, "/s/req"},
		{"/s", "/tv0", "/tv0", true, "/s"},
		{"/s", "/fv0/", "/fv0/req", false, "/s/fv0/req"},
		{"/s", "/fv0/", "/fv0/", false, "/s/fv0/"},
		{"/s", "/tv0/", "/tv0/req", true, "/s/req"},
		{"/s", "/tv0/", "/tv0/", true, "/s/"},
		// the example: Kong /srv/req, where v1 would give /srvreq
		{"/srv", "/rou", "/roureq", true, "/srv/req"},
		{"/srv", "/rou", "/roureq", false, "/srv/roureq"},
		{"/srv/", "/rou", "/rou", true, "/srv"},
		{"/service", "", "/route", true, "/service/route"},
		// service path with a trailing slash
		{"/s/", "/p", "/p", true, "/s"},
		{"/s/", "/p", "/p/", true, "/s/"},
		{"/s/", "/p", "/p/x", true, "/s/x"},
		{"/s/", "/p", "/p/x", false, "/s/p/x"},
		// no service path
		{"", "/p", "/p", true, "/"},
		{"", "/p", "/p/x", true, "/x"},
		{"", "/p", "/p/x", false, "/p/x"},
		{"/", "", "/", true, "/"},
		// route without paths
		{"/api", "", "/", true, "/api"},
		{"/api", "", "/x/", true, "/api/x/"},
		{"/api", "", "/x", true, "/api/x"},
		// dot segments left after stripping
		{"/s", "/p", "/p..", true, "/s"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %s %s strip=%t", tc.base, tc.prefix, tc.req, tc.strip), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, upstreamPath(tc.base, tc.req, tc.prefix, tc.strip))
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
