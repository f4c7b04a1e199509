package router_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/skyport-gw/skyport/dataplane/router"
)

func TestNormalize(t *testing.T) {
	t.Parallel()

	testCases := []struct {
		desc string
		in   string
		want string
	}{
		{desc: "empty", in: "", want: ""},
		{desc: "root", in: "/", want: "/"},
		{desc: "plain", in: "/a/b/c/", want: "/a/b/c/"},
		{desc: "dot in a name", in: "/a/file.json", want: "/a/file.json"},
		{desc: "unreserved decoded", in: "/%7Euser/%41%62", want: "/~user/Ab"},
		{desc: "others decoded", in: "/a%20b", want: "/a b"},
		{desc: "reserved kept upper-cased", in: "/a%2fb%3a", want: "/a%2Fb%3A"},
		{desc: "invalid escape kept", in: "/a%zz%4", want: "/a%zz%4"},
		{desc: "single dot", in: "/a/./b", want: "/a/b"},
		{desc: "double dot", in: "/a/b/../c", want: "/a/c"},
		{desc: "double dot at the end", in: "/a/b/..", want: "/a/"},
		{desc: "single dot at the end", in: "/a/b/.", want: "/a/b/"},
		{desc: "above the root", in: "/../../a", want: "/a"},
		{desc: "encoded dots", in: "/a/%2e%2E/b", want: "/b"},
		{desc: "duplicate slashes", in: "//a///b//", want: "/a/b/"},
		{desc: "relative", in: "../a/./b", want: "a/b"},
	}

	for _, test := range testCases {
		t.Run(test.desc, func(t *testing.T) {
			t.Parallel()

			assert.Equal(t, test.want, router.Normalize(test.in))
		})
	}
}
