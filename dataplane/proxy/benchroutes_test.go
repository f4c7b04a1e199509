package proxy

import (
	"fmt"

	"github.com/skyport-gw/skyport/internal/model"
)

// BenchRoutes are the routes of the router benchmarks, n of them to the
// service svc: route-5000 (Host api5000.example.com, path /v1), and for
// n > 1 others of distinct hosts with prefixes, regex paths, methods and
// headers, wildcard hosts and routes without hosts. BenchmarkStages
// matches route-5000 among them; BenchmarkProxyH1Routes proxies a
// request to it.
func BenchRoutes(n int, svc string) []*model.Route {
	routes := make([]*model.Route, 0, n)
	add := func(id string, f func(rt *model.Route)) {
		rt := model.NewRoute()
		rt.ID, rt.Service = id, &model.Ref{ID: svc}
		f(rt)
		routes = append(routes, rt)
	}
	add("route-5000", func(rt *model.Route) { rt.Hosts, rt.Paths = []string{"api5000.example.com"}, []string{"/v1"} })
	for i := range n - 1 {
		add(fmt.Sprintf("other-%d", i), func(rt *model.Route) {
			switch {
			case i%100 == 7:
				rt.Paths = []string{fmt.Sprintf(`~/regex%d/(?<id>\d+)$`, i)}
			case i%50 == 3:
				rt.Hosts = []string{fmt.Sprintf("*.tenant%d.example.com", i)}
			case i%4 == 1:
				rt.Paths = []string{fmt.Sprintf("/svc%d/v1", i)}
				rt.Methods = []string{"GET", "POST"}
			case i%10 == 2:
				rt.Hosts = []string{fmt.Sprintf("api%d.example.org", i)}
				rt.Headers = map[string][]string{"x-version": {"v1"}}
			default:
				rt.Hosts = []string{fmt.Sprintf("api%d.example.org", i)}
				rt.Paths = []string{"/v1", "/"}
			}
		})
	}
	return routes
}
