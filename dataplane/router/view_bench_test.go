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
				r.MatchRequest(views[i%len(views)], 8000, &m)
				i++
			}
			cputime.Report(b, cpu, i)
		})
	}
}
