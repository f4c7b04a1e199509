package router_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestUpdateMatchesNew: over random chains of route and service changes
// (hosts plain, wildcard and none, ports, prefix and regex paths,
// methods, services disabled), the router Update makes from the one
// before answers every request as New's does, and the router before keeps
// answering as it did.
func TestUpdateMatchesNew(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			g := &routeGen{rng: rand.New(rand.NewPCG(seed, 7))}
			services, routes := g.initial()
			cur, err := router.New(routes, services)
			require.NoError(t, err)
			for step := range 15 {
				nextSvc, nextRoutes := g.change(services, routes)
				before := answers(cur, g.inputs())
				next, err := router.Update(cur, nextRoutes, nextSvc)
				require.NoError(t, err)
				full, err := router.New(nextRoutes, nextSvc)
				require.NoError(t, err)
				require.Equal(t, answers(full, g.inputs()), answers(next, g.inputs()), "step %d", step)
				require.Equal(t, full.Len(), next.Len(), "step %d", step)
				require.Equal(t, before, answers(cur, g.inputs()), "step %d: the router before changed", step)
				cur, services, routes = next, nextSvc, nextRoutes
			}
		})
	}
}

type routeGen struct {
	rng *rand.Rand
	n   int
}

func (g *routeGen) id(prefix string) string {
	g.n++
	return fmt.Sprintf("%s0000000-0000-4000-a000-%012d", prefix, g.n)
}

var (
	genHosts   = []string{"a.test", "b.test", "*.test", "api.*", "a.test:8080", "B.TEST", "*.a.test", "api.x.*"}
	genPaths   = []string{"/", "/x", "/x/y", "/y", `~/x/\d+$`, `~/z`, "/x/y/z"}
	genMethods = []string{"GET", "POST"}
)

func (g *routeGen) initial() ([]*model.Service, []*model.Route) {
	var services []*model.Service
	for range 3 {
		services = append(services, g.service())
	}
	var routes []*model.Route
	for range 12 {
		routes = append(routes, g.route(services))
	}
	return sortByID(services), sortByID(routes)
}

func (g *routeGen) service() *model.Service {
	s := model.NewService()
	s.ID, s.Host = g.id("5"), "up.local"
	return s
}

func (g *routeGen) route(services []*model.Service) *model.Route {
	r := model.NewRoute()
	r.ID = g.id("7")
	r.Service = &model.Ref{ID: services[g.rng.IntN(len(services))].ID}
	r.Hosts = g.pick(genHosts, 3)
	r.Paths = g.pick(genPaths, 3)
	r.Methods = g.pick(genMethods, 2)
	return r
}

// pick returns up to max distinct values of list, often none.
func (g *routeGen) pick(list []string, most int) []string {
	var out []string
	for range g.rng.IntN(most + 1) {
		if v := list[g.rng.IntN(len(list))]; !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// change returns the lists with one to three changes: entities changed
// are new values, the rest shared, as a delta's result.
func (g *routeGen) change(services []*model.Service, routes []*model.Route) ([]*model.Service, []*model.Route) {
	services, routes = slices.Clone(services), slices.Clone(routes)
	for range 1 + g.rng.IntN(3) {
		switch g.rng.IntN(6) {
		case 0:
			routes = append(routes, g.route(services))
		case 1:
			if len(routes) > 1 {
				i := g.rng.IntN(len(routes))
				routes = slices.Delete(routes, i, i+1)
			}
		case 2, 3:
			i := g.rng.IntN(len(routes))
			r := *g.route(services)
			r.ID = routes[i].ID
			routes[i] = &r
		case 4: // a service disabled or enabled
			i := g.rng.IntN(len(services))
			s := *services[i]
			s.Enabled = !s.Enabled
			services[i] = &s
		case 5:
			services = append(services, g.service())
		}
	}
	return sortByID(services), sortByID(routes)
}

func sortByID[T model.Entity](list []T) []T {
	slices.SortFunc(list, func(a, b T) int {
		if a.Meta().ID < b.Meta().ID {
			return -1
		}
		return 1
	})
	return list
}

// inputs are requests over every host, port, path and method generated.
func (g *routeGen) inputs() []router.Input {
	var out []router.Input
	for _, h := range []string{"a.test", "b.test", "c.test", "api.x", "a.test:8080", "other", "x.a.test", "api.x.y"} {
		for _, p := range []string{"/", "/x", "/x/12", "/x/y", "/x/y/z", "/y/1", "/z"} {
			for _, m := range genMethods {
				out = append(out, router.Input{Method: m, Host: h, Path: p, Port: 9000})
			}
		}
	}
	return out
}

// answers is the route id (or "-") each input matches.
func answers(r *router.Router, inputs []router.Input) []string {
	out := make([]string, len(inputs))
	for i := range inputs {
		out[i] = "-"
		if m := r.Match(&inputs[i]); m != nil {
			out[i] = m.Route.ID + " " + m.Prefix
		}
	}
	return out
}
