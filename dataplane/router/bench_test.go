package router_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/model"
)

// benchRoutes builds n routes: most with a distinct host and prefixes,
// some without hosts, a few wildcard hosts, header and regex routes.
func benchRoutes(n int) []*model.Route {
	routes := make([]*model.Route, 0, n)
	for i := range n {
		r := model.NewRoute()
		r.ID = fmt.Sprintf("route-%06d", i)
		r.CreatedAt = int64(i)
		r.Service = &model.Ref{ID: "svc"}
		switch {
		case i%100 == 7:
			r.Paths = []string{fmt.Sprintf(`~/regex%d/(?<id>\d+)$`, i)}
		case i%50 == 3:
			r.Hosts = []string{fmt.Sprintf("*.tenant%d.example.com", i)}
		case i%4 == 1:
			r.Paths = []string{fmt.Sprintf("/svc%d/v1", i), fmt.Sprintf("/svc%d/v2", i)}
			r.Methods = []string{"GET", "POST"}
		case i%10 == 2:
			r.Hosts = []string{fmt.Sprintf("api%d.example.com", i)}
			r.Headers = map[string][]string{"x-version": {"v1"}}
		default:
			r.Hosts = []string{fmt.Sprintf("api%d.example.com", i)}
			r.Paths = []string{fmt.Sprintf("/resource%d", i%20), "/"}
		}
		routes = append(routes, r)
	}
	return routes
}

// benchInputs are requests that hit each kind of route, and a miss.
func benchInputs(n int) []*router.Input {
	last := n - 1
	return []*router.Input{
		{Method: "GET", Host: fmt.Sprintf("api%d.example.com", last/2*2), Path: "/resource3/items/1", Port: 9000},
		{Method: "GET", Host: "unknown.example.com", Path: fmt.Sprintf("/svc%d/v1/items", last/4*4+1), Port: 9000},
		{Method: "GET", Host: "x.tenant3.example.com", Path: "/", Port: 9000},
		{Method: "GET", Host: "api2.example.com:9000", Path: "/", Port: 9000, Header: http.Header{"X-Version": {"V1"}}},
		{Method: "GET", Host: "other.org", Path: "/regex7/123", Port: 9000},
		{Method: "GET", Host: "other.org", Path: "/nothing/here", Port: 9000},
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			r, err := router.New(benchRoutes(n), []*model.Service{service("svc", true)})
			if err != nil {
				b.Fatal(err)
			}
			inputs := benchInputs(n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Match(inputs[i%len(inputs)])
				i++
			}
		})
	}
}

// BenchmarkUpdateAll is an update in which every route changed (a new
// configuration whose routes all differ from the running one's, as a
// full snapshot with a new tag on each route): what it costs should grow
// with the routes, not with their square.
func BenchmarkUpdateAll(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			svc := model.NewService()
			svc.ID, svc.Host = "svc", "up.local"
			services := []*model.Service{svc}
			gens := [2][]*model.Route{benchRoutes(n), benchRoutes(n)}
			prev, err := router.New(gens[0], services)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				next, err := router.Update(prev, gens[(i+1)%2], services)
				if err != nil {
					b.Fatal(err)
				}
				prev = next
			}
		})
	}
}
