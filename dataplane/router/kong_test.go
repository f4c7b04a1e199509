package router_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/model"
)

// withID returns a route named name with the UUID id, changed by set.
func withID(name, id string, set func(r *model.Route)) *model.Route {
	r := rt(name, 1, set)
	r.ID = id
	return r
}

const (
	idLow  = "00000000-0000-4000-a000-000000000001"
	idHigh = "ffffffff-0000-4000-a000-000000000001"
	// idSplit's route splits into path groups; the first group's id is
	// uuid_v5(7f145bf9-0dce-4f91-98eb-debbce4b9f6b, idSplit.."#1") =
	// 3b1cde8f-96c5-5553-b106-2c8bacd11a20 (kong/router/transform.lua
	// split_routes_and_services_by_path).
	idSplit = "f0000000-0000-4000-a000-000000000001"
	idAbove = "3b1cde90-0000-4000-a000-000000000000" // above the group's id
	idBelow = "3b1cde8e-0000-4000-a000-000000000000" // below it
)

// TestMatchKongFidelity covers the traditional_compatible behaviours a
// migrating user would notice, each following the Kong 3.9.3 source named
// in its case.
func TestMatchKongFidelity(t *testing.T) {
	t.Parallel()

	tls := func(sni, path string) *router.Input {
		return &router.Input{Method: http.MethodGet, Path: path, TLS: true, SNI: sni, Port: 9443}
	}
	testCases := []struct {
		desc   string
		routes []*model.Route
		in     *router.Input
		want   string // route name; "" for no match
	}{
		// Ties: atc-router keeps matchers in a BTreeMap keyed by
		// (priority, uuid) and tries them in reverse (atc-router
		// src/router.rs, Router::execute); kong/router/atc.lua adds them
		// with the route id. created_at plays no part.
		{
			desc: "equal regex_priority goes to the higher id",
			routes: []*model.Route{
				withID("low", idLow, func(r *model.Route) { r.Paths = []string{`~/p/\d+`}; r.RegexPriority = 3 }),
				withID("high", idHigh, func(r *model.Route) { r.Paths = []string{`~/p/.*`}; r.RegexPriority = 3 }),
			},
			in:   get("", "/p/1"),
			want: "high",
		},
		{
			desc: "equal regex_priority goes to the higher id, whatever the order in the file",
			routes: []*model.Route{
				withID("high", idHigh, func(r *model.Route) { r.Paths = []string{`~/p/\d+`}; r.RegexPriority = 3 }),
				withID("low", idLow, func(r *model.Route) { r.Paths = []string{`~/p/.*`}; r.RegexPriority = 3 }),
			},
			in:   get("", "/p/1"),
			want: "high",
		},
		{
			desc: "[GET] and [GET,POST] on one path tie and go to the higher id",
			routes: []*model.Route{
				withID("get", idLow, func(r *model.Route) { r.Methods = []string{"GET"}; r.Paths = []string{"/p"} }),
				withID("both", idHigh, func(r *model.Route) { r.Methods = []string{"GET", "POST"}; r.Paths = []string{"/p"} }),
			},
			in:   get("", "/p"),
			want: "both",
		},
		{
			desc: "created_at does not break ties",
			routes: []*model.Route{
				withID("older", idLow, func(r *model.Route) { r.Paths = []string{"/p"}; r.CreatedAt = 1 }),
				withID("newer", idHigh, func(r *model.Route) { r.Paths = []string{"/p"}; r.CreatedAt = 2 }),
			},
			in:   get("", "/p"),
			want: "newer",
		},
		{
			desc: "a split route's group ties with its own id (above)",
			routes: []*model.Route{
				withID("split", idSplit, func(r *model.Route) { r.Paths = []string{"/pp", "/q"} }),
				withID("single", idAbove, func(r *model.Route) { r.Paths = []string{"/pp"} }),
			},
			in:   get("", "/pp/x"),
			want: "single",
		},
		{
			desc: "a split route's group ties with its own id (below)",
			routes: []*model.Route{
				withID("split", idSplit, func(r *model.Route) { r.Paths = []string{"/pp", "/q"} }),
				withID("single", idBelow, func(r *model.Route) { r.Paths = []string{"/pp"} }),
			},
			in:   get("", "/pp/x"),
			want: "split",
		},
		// Hosts with a port: transform.lua get_expression turns
		// "host:port" into (http.host == host && net.dst.port == port);
		// net.dst.port is the port atc.lua split off the Host header,
		// else the listener's (kong/router/fields.lua).
		{
			desc:   "host with port matches the port in Host",
			routes: []*model.Route{rt("port", 1, func(r *model.Route) { r.Hosts = []string{"port.test:8999"} })},
			in:     get("port.test:8999", "/"),
			want:   "port",
		},
		{
			desc:   "host with port refuses another port in Host, even the listener's",
			routes: []*model.Route{rt("port", 1, func(r *model.Route) { r.Hosts = []string{"port.test:9000"} })},
			in:     get("port.test:8999", "/"),
		},
		{
			desc:   "host without port matches any port",
			routes: []*model.Route{rt("any", 1, func(r *model.Route) { r.Hosts = []string{"port.test"} })},
			in:     get("port.test:8999", "/"),
			want:   "any",
		},
		{
			desc: "port-specific and any-port hosts tie and go to the higher id",
			routes: []*model.Route{
				withID("any", idLow, func(r *model.Route) { r.Hosts = []string{"route.*"} }),
				withID("port", idHigh, func(r *model.Route) { r.Hosts = []string{"route.*:80"} }),
			},
			in:   get("route.org:80", "/"),
			want: "port",
		},
		{
			// split_host_port splits at the first colon only when a
			// number follows, so a bracketed IPv6 host keeps its port.
			desc:   "IPv6 host with port compares whole",
			routes: []*model.Route{rt("v6", 1, func(r *model.Route) { r.Hosts = []string{"[::1]"} })},
			in:     get("[::1]:9000", "/"),
		},
		{
			desc:   "IPv6 host with port matches itself",
			routes: []*model.Route{rt("v6", 1, func(r *model.Route) { r.Hosts = []string{"[::1]:9000"} })},
			in:     get("[::1]:9000", "/"),
			want:   "v6",
		},
		// SNIs: get_expression adds (net.protocol != "https" ||
		// tls.sni == …), so the condition holds for plain HTTP, and the
		// snis field still counts in the route's weight (get_priority).
		{
			desc: "sni route matches plain HTTP",
			routes: []*model.Route{
				rt("sni", 1, func(r *model.Route) {
					r.Protocols = []string{"https"}
					r.SNIs = []string{"secure.test"}
					r.Paths = []string{"/p"}
				}),
			},
			in:   get("", "/p"),
			want: "sni",
		},
		{
			desc: "sni route outranks an http/https route on plain HTTP",
			routes: []*model.Route{
				withID("sni", idLow, func(r *model.Route) {
					r.Protocols = []string{"https"}
					r.SNIs = []string{"secure.test"}
					r.Paths = []string{"/p"}
				}),
				withID("both", idHigh, func(r *model.Route) { r.Paths = []string{"/p"} }),
			},
			in:   get("", "/p"),
			want: "sni",
		},
		{
			desc: "another SNI over TLS goes to the http/https route",
			routes: []*model.Route{
				withID("sni", idHigh, func(r *model.Route) {
					r.Protocols = []string{"https"}
					r.SNIs = []string{"secure.test"}
					r.Paths = []string{"/p"}
				}),
				withID("both", idLow, func(r *model.Route) { r.Paths = []string{"/p"} }),
			},
			in:   tls("other.test", "/p"),
			want: "both",
		},
		{
			desc:   "no SNI over TLS misses an sni route",
			routes: []*model.Route{rt("sni", 1, func(r *model.Route) { r.SNIs = []string{"secure.test"} })},
			in:     tls("", "/"),
		},
		// Wildcard SNIs: sni_op_transform and sni_val_transform turn
		// "*.x" into tls.sni =^ ".x" and "x.*" into tls.sni ^= "x.".
		{
			desc:   "leftmost wildcard SNI",
			routes: []*model.Route{rt("wild", 1, func(r *model.Route) { r.SNIs = []string{"*.example.test"} })},
			in:     tls("api.example.test", "/"),
			want:   "wild",
		},
		{
			desc:   "leftmost wildcard SNI at any depth",
			routes: []*model.Route{rt("wild", 1, func(r *model.Route) { r.SNIs = []string{"*.example.test"} })},
			in:     tls("a.b.Example.test", "/"),
			want:   "wild",
		},
		{
			desc:   "leftmost wildcard SNI needs a label",
			routes: []*model.Route{rt("wild", 1, func(r *model.Route) { r.SNIs = []string{"*.example.test"} })},
			in:     tls("example.test", "/"),
		},
		{
			desc:   "rightmost wildcard SNI",
			routes: []*model.Route{rt("wild", 1, func(r *model.Route) { r.SNIs = []string{"example.*"} })},
			in:     tls("example.test", "/"),
			want:   "wild",
		},
		{
			desc:   "rightmost wildcard SNI is anchored",
			routes: []*model.Route{rt("wild", 1, func(r *model.Route) { r.SNIs = []string{"example.*"} })},
			in:     tls("www.example.test", "/"),
		},
		{
			desc:   "trailing dot of a route SNI ignored",
			routes: []*model.Route{rt("dot", 1, func(r *model.Route) { r.SNIs = []string{"*.example.test."} })},
			in:     tls("a.example.test", "/"),
			want:   "dot",
		},
	}

	for _, test := range testCases {
		t.Run(test.desc, func(t *testing.T) {
			t.Parallel()

			r, err := router.New(test.routes, []*model.Service{service("svc", true)})
			require.NoError(t, err)
			m := match(t, r, test.in)
			if test.want == "" {
				assert.Nil(t, m)
				return
			}
			require.NotNil(t, m)
			assert.Equal(t, test.want, *m.Route.Name)
		})
	}
}
