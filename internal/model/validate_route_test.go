package model_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/model"
)

func TestRouteNormalize(t *testing.T) {
	t.Parallel()
	r := model.NewRoute()
	r.Hosts = []string{"API.Example.COM"}
	r.Methods = []string{"get", "Post"}
	r.Headers = map[string][]string{"X-Version": {"1"}, "x-version": {"2"}}
	r.Normalize()
	require.Equal(t, []string{"API.Example.COM"}, r.Hosts, "Kong keeps the case of hosts")
	require.Equal(t, []string{"get", "Post"}, r.Methods, "methods are not upper-cased: Kong refuses lower case")
	require.Equal(t, map[string][]string{"x-version": {"1", "2"}}, r.Headers)
}

func TestRouteValidate(t *testing.T) {
	fresh := func() *model.Route {
		r := model.NewRoute()
		r.Paths = []string{"/"}
		return r
	}
	runValid(t, fresh, []validCase[*model.Route]{
		{desc: "valid"},
		{desc: "valid with everything", mutate: func(r *model.Route) {
			r.Name = model.String("r1")
			r.Hosts = []string{"*.example.com", "example.*", "example.com:8080", "10.0.0.1"}
			r.Paths = []string{"/a", `~/b/(?P<id>\d+)$`}
			r.Methods = []string{"GET", "PURGE"}
			r.Headers = map[string][]string{"x-a": {"1"}}
			r.SNIs = []string{"*.example.com"}
			r.Service = &model.Ref{ID: "0f5e8a52-1d3c-4b7a-9e2f-3c4d5e6f7a8b"}
			r.PathHandling, r.HTTPSRedirectStatusCode, r.RegexPriority = "v1", 308, -5
		}},
		{desc: "no matching field", mutate: func(r *model.Route) { r.Paths = nil },
			want: map[string]string{"@entity": "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'http'"}},
		{desc: "https only without matching field", mutate: func(r *model.Route) { r.Paths, r.Protocols = nil, []string{"https"} },
			want: map[string]string{"@entity": "when 'protocols' is 'https'"}},
		{desc: "stream route", mutate: func(r *model.Route) {
			r.Paths, r.Protocols, r.Sources = nil, []string{"tcp"}, []model.CIDRPort{{IP: "10.0.0.0/8"}}
		}},
		{desc: "stream route without matching field", mutate: func(r *model.Route) { r.Paths, r.Protocols = nil, []string{"tcp"} },
			want: map[string]string{"@entity": "must set one of 'sources', 'destinations', 'snis'"}},
		{desc: "snis on http only", mutate: func(r *model.Route) { r.Protocols, r.SNIs = []string{"http"}, []string{"a.com"} },
			want: map[string]string{"snis": "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'"}},
		{desc: "paths on tcp", mutate: func(r *model.Route) { r.Protocols, r.SNIs = []string{"tls"}, []string{"a.com"} },
			want: map[string]string{"paths": "cannot set 'paths' when 'protocols' is 'tcp', 'tls' or 'udp'"}},
		{desc: "sources on http", mutate: func(r *model.Route) { r.Sources = []model.CIDRPort{{Port: 1}} },
			want: map[string]string{"sources": "cannot set 'sources' when 'protocols' is 'http' or 'https'"}},
		{desc: "protocols", mutate: func(r *model.Route) { r.Protocols = []string{"http", "ftp"} },
			want: map[string]string{"protocols.2": "expected one of: grpc, grpcs, http, https, tcp, tls, udp, ws, wss"}},
		{desc: "grpc with http", mutate: func(r *model.Route) { r.Protocols = []string{"grpc", "http", "grpcs", "https"} },
			want: map[string]string{"protocols": "these sets are mutually exclusive: ('grpc', 'grpcs'), ('http', 'https')"}},
		{desc: "grpc and grpcs", mutate: func(r *model.Route) { r.Protocols = []string{"grpc", "grpcs"} }},
		{desc: "ws with http, as Skyport allows", mutate: func(r *model.Route) { r.Protocols = []string{"http", "ws", "wss"} }},
		{desc: "empty protocols", mutate: func(r *model.Route) { r.Protocols = nil },
			want: map[string]string{"protocols": "length must be at least 1"}},
		{desc: "paths", mutate: func(r *model.Route) { r.Paths = []string{"/ok", "nope", "~/(", "/a//b"} },
			want: map[string]string{
				"paths.2": "should start with: / (fixed path) or ~/ (regex path)",
				"paths.3": "invalid regex: '/(' (",
				"paths.4": "must not have empty segments",
			}},
		{desc: "hosts", mutate: func(r *model.Route) { r.Hosts = []string{"*.*.com", "a.*.com", "bad host", "a.com:99999"} },
			want: map[string]string{
				"hosts.1": "invalid wildcard: must have at most one wildcard",
				"hosts.2": "invalid wildcard: must be placed at leftmost or rightmost label",
				"hosts.3": "invalid hostname: bad host",
				"hosts.4": "invalid value: a.com:99999",
			}},
		{desc: "methods", mutate: func(r *model.Route) { r.Methods = []string{"GET", "B@D"} },
			want: map[string]string{"methods.2": "invalid value: B@D"}},
		// kong/db/schema/typedefs.lua http_method: match = "^%u+$".
		{desc: "lower-case methods", mutate: func(r *model.Route) { r.Methods = []string{"get", "Post", "PURGE"} },
			want: map[string]string{"methods.1": "invalid value: get", "methods.2": "invalid value: Post"}},
		{desc: "method with a digit or a dash", mutate: func(r *model.Route) { r.Methods = []string{"M1", "M-SEARCH"} },
			want: map[string]string{"methods.1": "invalid value: M1", "methods.2": "invalid value: M-SEARCH"}},
		{desc: "host header", mutate: func(r *model.Route) { r.Headers = map[string][]string{"Host": {"x"}} },
			want: map[string]string{"headers": "cannot contain 'host' header"}},
		{desc: "path handling and redirect code", mutate: func(r *model.Route) { r.PathHandling, r.HTTPSRedirectStatusCode = "v2", 303 },
			want: map[string]string{
				"path_handling":              "expected one of: v0, v1",
				"https_redirect_status_code": "expected one of: 426, 301, 302, 307, 308",
			}},
		{desc: "service ref", mutate: func(r *model.Route) { r.Service = &model.Ref{ID: "x"} },
			want: map[string]string{"service.id": "expected a valid UUID"}},
	})
}
