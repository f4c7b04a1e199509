package router_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/model"
)

// rt returns a route named name, created at created, changed by set.
func rt(name string, created int64, set func(r *model.Route)) *model.Route {
	r := model.NewRoute()
	r.ID = "id-" + name
	r.Name = model.String(name)
	r.CreatedAt = created
	r.Service = &model.Ref{ID: "svc"}
	if set != nil {
		set(r)
	}
	return r
}

func service(id string, enabled bool) *model.Service {
	s := model.NewService()
	s.ID = id
	s.Host = id + ".internal"
	s.Enabled = enabled
	return s
}

func get(host, path string) *router.Input {
	return &router.Input{Method: http.MethodGet, Host: host, Path: path, Port: 9000}
}

func TestMatch(t *testing.T) {
	t.Parallel()

	testCases := []struct {
		desc         string
		routes       []*model.Route
		services     []*model.Service
		in           *router.Input
		want         string // route name; "" for no match
		wantPath     string
		wantPrefix   string
		wantCaptures map[string]string
	}{
		{
			desc: "host beats no host",
			routes: []*model.Route{
				rt("any", 1, func(r *model.Route) { r.Paths = []string{"/"} }),
				rt("host", 2, func(r *model.Route) { r.Hosts = []string{"example.com"} }),
			},
			in:   get("example.com", "/x"),
			want: "host",
		},
		{
			desc: "more fields wins",
			routes: []*model.Route{
				rt("two", 1, func(r *model.Route) { r.Hosts = []string{"example.com"}; r.Paths = []string{"/api/v1"} }),
				rt("three", 2, func(r *model.Route) {
					r.Hosts = []string{"example.com"}
					r.Paths = []string{"/api"}
					r.Methods = []string{"GET"}
				}),
			},
			in:         get("example.com", "/api/v1/users"),
			want:       "three",
			wantPrefix: "/api",
		},
		{
			desc: "fewer fields when the method differs",
			routes: []*model.Route{
				rt("two", 1, func(r *model.Route) { r.Hosts = []string{"example.com"}; r.Paths = []string{"/api/v1"} }),
				rt("three", 2, func(r *model.Route) {
					r.Hosts = []string{"example.com"}
					r.Paths = []string{"/api"}
					r.Methods = []string{"GET"}
				}),
			},
			in:         &router.Input{Method: http.MethodPost, Host: "example.com", Path: "/api/v1/users"},
			want:       "two",
			wantPrefix: "/api/v1",
		},
		{
			desc: "plain host beats wildcard",
			routes: []*model.Route{
				rt("wild", 1, func(r *model.Route) { r.Hosts = []string{"*.example.com"} }),
				rt("plain", 2, func(r *model.Route) { r.Hosts = []string{"api.example.com"} }),
			},
			in:   get("api.example.com", "/"),
			want: "plain",
		},
		{
			// The plain-hosts-only bit (60) sits above the weight, which
			// Kong shifts in 32 bits (kong/router/transform.lua
			// get_priority; see priority.go).
			desc: "plain host beats a wildcard with more fields",
			routes: []*model.Route{
				rt("plain", 1, func(r *model.Route) { r.Hosts = []string{"api.example.com"} }),
				rt("wild", 2, func(r *model.Route) {
					r.Hosts = []string{"other.com", "*.example.com"}
					r.Methods = []string{"GET"}
				}),
			},
			in:   get("api.example.com", "/"),
			want: "plain",
		},
		{
			desc: "plain host beats more fields without host",
			routes: []*model.Route{
				rt("host", 1, func(r *model.Route) { r.Hosts = []string{"example.com"} }),
				rt("fields", 2, func(r *model.Route) { r.Methods = []string{"GET"}; r.Paths = []string{"/"} }),
			},
			in:   get("example.com", "/x"),
			want: "host",
		},
		{
			desc: "more fields beat fewer without plain hosts",
			routes: []*model.Route{
				rt("wild", 1, func(r *model.Route) { r.Hosts = []string{"*.example.com"} }),
				rt("fields", 2, func(r *model.Route) { r.Methods = []string{"GET"}; r.Paths = []string{"/"} }),
			},
			in:         get("api.example.com", "/x"),
			want:       "fields",
			wantPrefix: "/",
		},
		{
			desc: "more headers wins",
			routes: []*model.Route{
				rt("one", 1, func(r *model.Route) { r.Headers = map[string][]string{"x-a": {"1"}} }),
				rt("two", 2, func(r *model.Route) { r.Headers = map[string][]string{"x-a": {"1"}, "x-b": {"2"}} }),
			},
			in: &router.Input{Method: "GET", Path: "/", Header: http.Header{
				"X-A": {"1"}, "X-B": {"2"},
			}},
			want: "two",
		},
		{
			desc: "higher regex_priority first",
			routes: []*model.Route{
				rt("low", 1, func(r *model.Route) { r.Paths = []string{`~/api/v\d+`}; r.RegexPriority = 1 }),
				rt("high", 2, func(r *model.Route) { r.Paths = []string{`~/api/.*`}; r.RegexPriority = 10 }),
			},
			in:           get("", "/api/v1/x"),
			want:         "high",
			wantPrefix:   "/api/v1/x",
			wantCaptures: map[string]string{"0": "/api/v1/x"},
		},
		{
			desc: "regex beats a longer prefix",
			routes: []*model.Route{
				rt("prefix", 1, func(r *model.Route) { r.Paths = []string{"/api/v1/users"} }),
				rt("regex", 2, func(r *model.Route) { r.Paths = []string{"~/api"} }),
			},
			in:           get("", "/api/v1/users"),
			want:         "regex",
			wantPrefix:   "/api",
			wantCaptures: map[string]string{"0": "/api"},
		},
		{
			desc: "longest prefix",
			routes: []*model.Route{
				rt("short", 1, func(r *model.Route) { r.Paths = []string{"/api"} }),
				rt("long", 2, func(r *model.Route) { r.Paths = []string{"/api/v1"} }),
			},
			in:         get("", "/api/v1/users"),
			want:       "long",
			wantPrefix: "/api/v1",
		},
		{
			desc: "shorter prefix when the longer does not match",
			routes: []*model.Route{
				rt("short", 1, func(r *model.Route) { r.Paths = []string{"/api"} }),
				rt("long", 2, func(r *model.Route) { r.Paths = []string{"/api/v1"} }),
			},
			in:         get("", "/api/v2"),
			want:       "short",
			wantPrefix: "/api",
		},
		{
			desc:       "prefix is a plain string prefix",
			routes:     []*model.Route{rt("foo", 1, func(r *model.Route) { r.Paths = []string{"/foo"} })},
			in:         get("", "/foobar"),
			want:       "foo",
			wantPrefix: "/foo",
		},
		{
			desc: "paths split by length as Kong does",
			routes: []*model.Route{
				rt("split", 1, func(r *model.Route) { r.Paths = []string{"/a-much-longer-prefix", "/s"} }),
				rt("sh", 2, func(r *model.Route) { r.Paths = []string{"/sh"} }),
			},
			in:         get("", "/short"),
			want:       "sh",
			wantPrefix: "/sh",
		},
		{
			desc:   "method filtering",
			routes: []*model.Route{rt("post", 1, func(r *model.Route) { r.Methods = []string{"POST"} })},
			in:     get("", "/"),
		},
		{
			desc: "header value compared case-insensitively",
			routes: []*model.Route{
				rt("hdr", 1, func(r *model.Route) { r.Headers = map[string][]string{"x-version": {"v1", "v2"}} }),
			},
			in:   &router.Input{Method: "GET", Path: "/", Header: http.Header{"X-Version": {"V2"}}},
			want: "hdr",
		},
		{
			desc: "header regex",
			routes: []*model.Route{
				rt("hdr", 1, func(r *model.Route) { r.Headers = map[string][]string{"x-version": {`~*^v\d+$`}} }),
			},
			in:   &router.Input{Method: "GET", Path: "/", Header: http.Header{"X-Version": {"V12"}}},
			want: "hdr",
		},
		{
			desc: "header missing",
			routes: []*model.Route{
				rt("hdr", 1, func(r *model.Route) { r.Headers = map[string][]string{"x-version": {"v1"}} }),
			},
			in: get("", "/"),
		},
		{
			desc:   "sni matches case-insensitively",
			routes: []*model.Route{rt("sni", 1, func(r *model.Route) { r.SNIs = []string{"example.com"} })},
			in:     &router.Input{Method: "GET", Path: "/", TLS: true, SNI: "Example.COM"},
			want:   "sni",
		},
		{
			desc:   "sni required over TLS",
			routes: []*model.Route{rt("sni", 1, func(r *model.Route) { r.SNIs = []string{"example.com"} })},
			in:     &router.Input{Method: "GET", Host: "example.com", Path: "/", TLS: true},
		},
		{
			desc:   "host with port matches the listener port",
			routes: []*model.Route{rt("port", 1, func(r *model.Route) { r.Hosts = []string{"example.com:9000"} })},
			in:     get("example.com", "/"),
			want:   "port",
		},
		{
			desc:   "host with port refuses the listener port",
			routes: []*model.Route{rt("port", 1, func(r *model.Route) { r.Hosts = []string{"example.com:9443"} })},
			in:     get("example.com", "/"),
		},
		{
			desc:   "host with port uses the Host port without a listener port",
			routes: []*model.Route{rt("port", 1, func(r *model.Route) { r.Hosts = []string{"example.com:9443"} })},
			in:     &router.Input{Method: "GET", Host: "example.com:9443", Path: "/"},
			want:   "port",
		},
		{
			desc:   "plain host matches any port and any case",
			routes: []*model.Route{rt("host", 1, func(r *model.Route) { r.Hosts = []string{"Example.com"} })},
			in:     get("EXAMPLE.com:9999", "/"),
			want:   "host",
		},
		{
			desc:   "wildcard suffix host",
			routes: []*model.Route{rt("wild", 1, func(r *model.Route) { r.Hosts = []string{"*.example.com"} })},
			in:     get("a.b.example.com", "/"),
			want:   "wild",
		},
		{
			desc:   "wildcard suffix needs a label",
			routes: []*model.Route{rt("wild", 1, func(r *model.Route) { r.Hosts = []string{"*.example.com"} })},
			in:     get("example.com", "/"),
		},
		{
			desc:   "wildcard prefix host",
			routes: []*model.Route{rt("wild", 1, func(r *model.Route) { r.Hosts = []string{"example.*"} })},
			in:     get("example.org", "/"),
			want:   "wild",
		},
		{
			desc:   "wildcard prefix is anchored",
			routes: []*model.Route{rt("wild", 1, func(r *model.Route) { r.Hosts = []string{"example.*"} })},
			in:     get("www.example.org", "/"),
		},
		{
			desc:       "dot segments resolved",
			routes:     []*model.Route{rt("b", 1, func(r *model.Route) { r.Paths = []string{"/b"} })},
			in:         get("", "/a/../b/c"),
			want:       "b",
			wantPath:   "/b/c",
			wantPrefix: "/b",
		},
		{
			desc:       "unreserved characters decoded",
			routes:     []*model.Route{rt("user", 1, func(r *model.Route) { r.Paths = []string{"/~user"} })},
			in:         get("", "/%7Euser"),
			want:       "user",
			wantPath:   "/~user",
			wantPrefix: "/~user",
		},
		{
			desc:       "duplicate slashes merged",
			routes:     []*model.Route{rt("v1", 1, func(r *model.Route) { r.Paths = []string{"/api/v1"} })},
			in:         get("", "//api//v1"),
			want:       "v1",
			wantPath:   "/api/v1",
			wantPrefix: "/api/v1",
		},
		{
			desc:   "reserved characters stay encoded",
			routes: []*model.Route{rt("ab", 1, func(r *model.Route) { r.Paths = []string{"/a/b"} })},
			in:     get("", "/a%2fb"),
		},
		{
			desc: "named and numbered captures",
			routes: []*model.Route{
				rt("users", 1, func(r *model.Route) { r.Paths = []string{`~/users/(?<id>\d+)/(\w+)`} }),
			},
			in:         get("", "/users/42/posts/7"),
			want:       "users",
			wantPrefix: "/users/42/posts",
			wantCaptures: map[string]string{
				"0": "/users/42/posts", "1": "42", "2": "posts", "id": "42",
			},
		},
		{
			desc: "regexes with and without a literal prefix",
			routes: []*model.Route{
				rt("literal", 1, func(r *model.Route) { r.Paths = []string{`~/v1/items/\d+`, `~/v2/items/\d+`} }),
				rt("folded", 2, func(r *model.Route) {
					r.Paths = []string{`~(?i)/V2/ITEMS/(\d+)`}
					r.RegexPriority = 5
				}),
			},
			in:           get("", "/v2/items/12"),
			want:         "folded",
			wantPrefix:   "/v2/items/12",
			wantCaptures: map[string]string{"0": "/v2/items/12", "1": "12"},
		},
		{
			desc: "second regex of a route",
			routes: []*model.Route{
				rt("literal", 1, func(r *model.Route) { r.Paths = []string{`~/v1/items/\d+`, `~/v2/items/\d+`} }),
				rt("folded", 2, func(r *model.Route) { r.Paths = []string{`~(?i)/V3/`}; r.RegexPriority = 5 }),
			},
			in:           get("", "/v2/items/12"),
			want:         "literal",
			wantPrefix:   "/v2/items/12",
			wantCaptures: map[string]string{"0": "/v2/items/12"},
		},
		{
			desc:   "regex anchored at the start",
			routes: []*model.Route{rt("users", 1, func(r *model.Route) { r.Paths = []string{`~/users`} })},
			in:     get("", "/v1/users"),
		},
		{
			desc: "disabled service excluded",
			routes: []*model.Route{
				rt("off", 1, func(r *model.Route) { r.Paths = []string{"/api"}; r.Service = &model.Ref{ID: "off"} }),
				rt("on", 2, func(r *model.Route) { r.Paths = []string{"/"} }),
			},
			in:         get("", "/api"),
			want:       "on",
			wantPrefix: "/",
		},
		{
			desc:   "no match",
			routes: []*model.Route{rt("api", 1, func(r *model.Route) { r.Paths = []string{"/api"} })},
			in:     get("", "/other"),
		},
	}

	for _, test := range testCases {
		t.Run(test.desc, func(t *testing.T) {
			t.Parallel()

			services := test.services
			if services == nil {
				services = []*model.Service{service("svc", true), service("off", false)}
			}
			r, err := router.New(test.routes, services)
			require.NoError(t, err)

			m := match(t, r, test.in)
			if test.want == "" {
				assert.Nil(t, m)
				return
			}
			require.NotNil(t, m)
			assert.Equal(t, test.want, *m.Route.Name)
			require.NotNil(t, m.Service)
			assert.Equal(t, m.Route.Service.ID, m.Service.ID)
			if test.wantPath != "" {
				assert.Equal(t, test.wantPath, m.Path)
			}
			assert.Equal(t, test.wantPrefix, m.Prefix)
			assert.Equal(t, test.wantCaptures, m.Captures)
		})
	}
}
