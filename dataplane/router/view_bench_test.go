package router_test

import (
	"fmt"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/cputime"
	"github.com/skyport-gw/skyport/internal/model"
)

// BenchmarkMatchRequest is the router on the protocol-neutral view (the
// path the proxy takes for an h1 request), with the requests of
// BenchmarkMatch in turn; cpu-ns/op is the process's CPU time per match.
func BenchmarkMatchRequest(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			r, err := router.New(benchRoutes(n), []*model.Service{service("svc", true)})
			if err != nil {
				b.Fatal(err)
			}
			var views []*inputView
			for _, in := range benchInputs(n) {
				views = append(views, newInputView(in))
			}
			var m router.Match
			b.ReportAllocs()
			i := 0
			cpu := cputime.Process()
			for b.Loop() {
				r.MatchRequest(views[i%len(views)], 9080, &m)
				i++
			}
			cputime.Report(b, cpu, i)
		})
	}
}

// BenchmarkMatchRequestHost is one request for a route with a plain host
// and a prefix (issue 19's 10,000-route goal: within 5% of one route),
// alone and among BenchmarkMatch's routes.
func BenchmarkMatchRequestHost(b *testing.B) {
	in := &router.Input{Method: "GET", Host: "api5000.example.com", Path: "/resource0/items/42", Port: 9080}
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			routes := benchRoutes(10000)[5000:5001]
			if n > 1 {
				routes = benchRoutes(n)
			}
			r, err := router.New(routes, []*model.Service{service("svc", true)})
			if err != nil {
				b.Fatal(err)
			}
			v := newInputView(in)
			var m router.Match
			if !r.MatchRequest(v, 9080, &m) || m.Route.ID != "route-005000" {
				b.Fatalf("matched %+v", m)
			}
			b.ReportAllocs()
			cputime.Loop(b, func() { r.MatchRequest(v, 9080, &m) })
		})
	}
}
