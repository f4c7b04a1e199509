package uriargs_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/plugins/uriargs"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	as := uriargs.Parse("a=1&flag&api%6B%65%79=k+v&a=2&empty=&&=nameless")
	v, n, flag := as.Lookup("apikey")
	require.Equal(t, []any{"k v", 1, false}, []any{v, n, flag})
	_, n, flag = as.Lookup("flag")
	require.Equal(t, []any{1, true}, []any{n, flag})
	v, n, _ = as.Lookup("empty")
	require.Equal(t, []any{"", 1}, []any{v, n})
	_, n, _ = as.Lookup("a")
	require.Equal(t, 2, n)
	require.False(t, as.Has("missing"))
	// get_uri_args discards an argument with an empty name.
	require.Equal(t, map[string]any{"a": []any{"1", "2"}, "flag": true, "apikey": "k v", "empty": ""}, as.Values())
	buf := make(uriargs.Args, 0, 8)
	require.Equal(t, as, uriargs.AppendParse(buf, "a=1&flag&api%6B%65%79=k+v&a=2&empty=&&=nameless"))
}

// TestWithout follows the WHATWG serializer kong.service.request.clear_query_arg
// uses (resty.ada.search): the other parameters keep their order, decoded
// and encoded again (spec/03-plugins/09-key-auth/02-access_spec.lua).
func TestWithout(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, name, want string }{
		{"c=value1&b=value2&apikey=kong&a=value3", "apikey", "c=value1&b=value2&a=value3"},
		{"c=valu%651&b=value2&api%6B%65%79=kong&a=valu%653", "apikey", "c=value1&b=value2&a=value3"},
		{"apikey=1&x=a b*~&apikey=2&flag", "apikey", "x=a+b*%7E&flag="},
		{"x=%zz&apikey=1", "apikey", "x=%25zz"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, uriargs.Parse(tt.raw).Without(tt.name), tt.raw)
	}
}
