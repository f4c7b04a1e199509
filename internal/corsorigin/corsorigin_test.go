package corsorigin_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/corsorigin"
)

// The regex_testcases of Kong 3.9.3's spec/03-plugins/13-cors/01-access_spec.lua:
// for each origins list, what Access-Control-Allow-Origin each request
// Origin gets ("" for none).
var kongCases = []struct {
	origins []string
	want    map[string]string
}{
	{origins: []string{"foo.test"}, want: every("foo.test")},
	{origins: []string{"https://bar.test:1234"}, want: every("https://bar.test:1234")},
	{origins: []string{`foo\.test`}, want: accepts("http://foo.test", "http://foo.test:80=http://foo.test",
		"http://foo.test:9000", "https://foo.test:9000", "http://foo.test:90")},
	{origins: []string{`(.*[./])?foo\.test`}, want: accepts("http://foo.test", "http://something.foo.test",
		"http://foo.test:80=http://foo.test", "http://foo.test:9000", "https://foo.test:9000", "http://foo.test:90")},
	{origins: []string{`(.*[./])?foo\.test:9000`}, want: accepts("http://foo.test:9000", "https://foo.test:9000")},
	{origins: []string{`https://(.*[.])?foo\.test:9000`}, want: accepts("https://foo.test:9000")},
	{origins: []string{`^http://(.*[.])?foo\.test(:(80|90))?$`}, want: accepts("http://foo.test", "http://something.foo.test",
		"http://foo.test:80=http://foo.test", "http://foo.test:90")},
	{origins: []string{"foo.test", "bar.test"}, want: accepts()},
	{origins: []string{"http://foo.test", "https://bar.test:1234"}, want: accepts("http://foo.test",
		"http://foo.test:80=http://foo.test", "https://bar.test:1234")},
	{origins: []string{"bar.test", `foo\.test`}, want: accepts("http://foo.test", "http://foo.test:80=http://foo.test",
		"http://foo.test:9000", "https://foo.test:9000", "http://foo.test:90")},
	{origins: []string{"bar.test", `(.*\.)?foo\.test`}, want: accepts("http://foo.test", "http://something.foo.test",
		"http://foo.test:80=http://foo.test", "http://foo.test:9000", "https://foo.test:9000", "http://foo.test:90")},
	{origins: []string{"bar.test", `(.*[./])?foo\.test:9000`}, want: accepts("http://foo.test:9000", "https://foo.test:9000")},
	{origins: []string{"bar.test", `https://(.*\.)?foo\.test:9000`}, want: accepts("https://foo.test:9000")},
}

// requestOrigins are the Origins every Kong case is tried with.
var requestOrigins = []string{"http://evil.test", "http://foo.test", "http://foo.test.evil.test",
	"http://something.foo.test", "http://evilfoo.test", "http://foo.test:80", "http://foo.test:9000",
	"https://foo.test:9000", "http://foo.test:90", "http://foobtest", "https://bar.test:1234"}

// every: a single plain origin is always the answer.
func every(acao string) map[string]string {
	m := map[string]string{}
	for _, o := range requestOrigins {
		m[o] = acao
	}
	return m
}

// accepts lists the origins allowed ("origin=answer" when the answer is
// the origin normalized); the others get none.
func accepts(allowed ...string) map[string]string {
	m := map[string]string{}
	for _, o := range requestOrigins {
		m[o] = ""
	}
	for _, a := range allowed {
		o, answer := a, a
		for i := range a {
			if a[i] == '=' {
				o, answer = a[:i], a[i+1:]
			}
		}
		m[o] = answer
	}
	return m
}

// acao is what the cors plugin answers for origin with list l.
func acao(l *corsorigin.List, origin string) string {
	switch {
	case l.AllowAll || l.Wildcard:
		return "*"
	case l.Single != "":
		return l.Single
	}
	a, _ := l.Match(origin)
	return a
}

func TestKongRegexCases(t *testing.T) {
	t.Parallel()
	for _, tc := range kongCases {
		l, err := corsorigin.Compile(tc.origins)
		require.NoError(t, err, tc.origins)
		for origin, want := range tc.want {
			require.Equal(t, want, acao(l, origin), "origins %q, Origin %s", tc.origins, origin)
		}
	}
}

func TestCompile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		origins  []string
		allowAll bool
		wildcard bool
		single   string
		errIndex int // -1: compiles
	}{
		{desc: "none", origins: nil, allowAll: true, errIndex: -1},
		{desc: "star alone", origins: []string{"*"}, allowAll: true, errIndex: -1},
		// kong/plugins/cors/schema.lua accepts "*" anywhere in the list.
		{desc: "star among others", origins: []string{"http://a.test", "*"}, wildcard: true, errIndex: -1},
		{desc: "single literal", origins: []string{"http://a.test"}, single: "http://a.test", errIndex: -1},
		{desc: "single expression", origins: []string{`.*\.a\.test`}, errIndex: -1},
		{desc: "bad expression", origins: []string{"http://a.test", "(unclosed"}, errIndex: 1},
		// RE2, not PCRE: no lookbehind.
		{desc: "pcre only", origins: []string{`(?<!evil)\.a\.test`}, errIndex: 0},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			l, err := corsorigin.Compile(tt.origins)
			if tt.errIndex >= 0 {
				var e *corsorigin.Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, tt.errIndex, e.Index)
				require.Equal(t, "'"+tt.origins[tt.errIndex]+"' is not a valid regex", e.Message())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.allowAll, l.AllowAll)
			require.Equal(t, tt.wildcard, l.Wildcard)
			require.Equal(t, tt.single, l.Single)
		})
	}
}

// TestNormalize follows normalize_origin (kong/plugins/cors/handler.lua)
// over LuaSocket's url.parse.
func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, domain, host string }{
		{"http://x.test:80", "http://x.test", "x.test"},
		{"https://x.test:443", "https://x.test", "x.test"},
		{"https://x.test:80", "https://x.test:80", "x.test"},
		{"http://x.test:8080/path", "http://x.test:8080", "x.test"},
		{"http://user@x.test", "http://x.test", "x.test"},
		{"http://[::1]:8080", "http://::1:8080", "::1"},
		{"HTTP://X.test", "HTTP://X.test", "X.test"},
		{"x.test", "x.test", "x.test"},
		{"null", "null", "null"},
		{"", "", ""},
	}
	for _, tt := range tests {
		got := corsorigin.Normalize(tt.in)
		require.Equal(t, corsorigin.Origin{Domain: tt.domain, Host: tt.host}, got, tt.in)
	}
}
