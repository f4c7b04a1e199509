package proxy

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/internal/model"
)

// countSeries is a Series that names what it was made for.
type countSeries struct{ name string }

func (*countSeries) Observe(int, time.Duration, time.Duration) {}

// TestSeriesMemo: a native exchange's memo answers the Series the
// configuration's cache holds for the same route and service, never
// one of another route, service or configuration.
func TestSeriesMemo(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	made := 0
	s := New(Options{Observer: ObserverFunc(func(svc, route string) Series {
		mu.Lock()
		defer mu.Unlock()
		made++
		return &countSeries{name: svc + "/" + route}
	})})
	t.Cleanup(s.Close)
	svc := model.NewService()
	svc.ID, svc.Host, svc.Port = "s", "127.0.0.1", 80
	cfg := &model.Config{Services: []*model.Service{svc}, Routes: BenchRoutes(2, "s")}
	apply := func() *compiled {
		t.Helper()
		if err := s.Apply(context.Background(), cfg, 1, "test"); err != nil {
			t.Fatal(err)
		}
		return s.cur.Load()
	}
	c1 := apply()
	var memo routeMemo
	observe := func(c *compiled, route *model.Route) Series {
		t.Helper()
		ex := &exchange{c: c, svc: c.services["s"], memo: &memo}
		ex.matched.Route = route
		ex.match = &ex.matched
		memoed := s.series(ex, "s", route.ID)
		plain := &exchange{c: c, svc: ex.svc, match: ex.match}
		if want := s.series(plain, "s", route.ID); memoed != want {
			t.Fatalf("memo %v, cache %v", memoed, want)
		}
		return memoed
	}
	r0, r1 := cfg.Routes[0], cfg.Routes[1]
	a := observe(c1, r0)
	if b := observe(c1, r0); b != a {
		t.Fatalf("same route: %v then %v", a, b)
	}
	if b := observe(c1, r1); b == a {
		t.Fatalf("another route got %v", b)
	}
	if made != 2 {
		t.Fatalf("the Observer made %d series for two routes", made)
	}
	c2 := apply()
	if c2.gen == c1.gen {
		t.Fatalf("two configurations numbered %d", c2.gen)
	}
	b := observe(c2, r1)
	if made != 3 {
		t.Fatalf("the Observer made %d series; want the new configuration's third", made)
	}
	if memo.gen != c2.gen || memo.series != b {
		t.Fatalf("memo holds %+v; want configuration %d's %v", memo, c2.gen, b)
	}
}

// TestRouteMemoAcrossServers: the pooled native exchanges serve every
// Server of the process, so a memo made on one Server's configuration
// never answers for another's, even when both were given the same
// model.Config (the same routes) as their first.
func TestRouteMemoAcrossServers(t *testing.T) {
	t.Parallel()
	svc := model.NewService()
	svc.ID, svc.Host, svc.Port = "s", "127.0.0.1", 80
	cfg := &model.Config{Services: []*model.Service{svc}, Routes: BenchRoutes(1, "s")}
	current := func() *compiled {
		t.Helper()
		s := New(Options{})
		t.Cleanup(s.Close)
		if err := s.Apply(context.Background(), cfg, 1, "test"); err != nil {
			t.Fatal(err)
		}
		return s.cur.Load()
	}
	a, b := current(), current()
	var memo routeMemo
	match := func(c *compiled) *service {
		t.Helper()
		var ex exchange
		ex.matched.Route, ex.matched.Service = cfg.Routes[0], svc
		return memo.service(c, &ex.matched)
	}
	if got := match(a); got != a.services["s"] {
		t.Fatalf("first Server: service %p, want %p", got, a.services["s"])
	}
	if got := match(b); got != b.services["s"] {
		t.Fatalf("second Server: service %p is the first's (%p); want its own %p", got, a.services["s"], b.services["s"])
	}
}
