package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/dataplane/status"
	"github.com/skyport-gw/skyport/internal/model"
)

// BenchmarkStages measures the proxy's per-request stages one by one,
// for the stage table in BENCHMARKS.md (issue 19's budgets): the router
// with one route, the plugin chain of a configuration without plugins,
// the metrics of a request (the route's Series, kept with the
// configuration, and dataplane/status's observation), and the access log
// line written to a discarding writer.
func BenchmarkStages(b *testing.B) {
	svc := model.NewService()
	svc.ID, svc.Host, svc.Port = "s", "127.0.0.1", 80
	rt := model.NewRoute()
	rt.ID, rt.Paths, rt.Service = "r", []string{"/"}, &model.Ref{ID: "s"}
	metrics := status.NewMetrics()
	s := New(Options{Version: "bench", AccessLogWriter: io.Discard,
		Observer: ObserverFunc(func(svc, route string) Series { return metrics.Series(svc, route) })})
	if err := s.Apply(context.Background(), &model.Config{Services: []*model.Service{svc}, Routes: []*model.Route{rt}}, 1, "bench"); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := s.cur.Load()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("User-Agent", "wrk")
	b.Run("router", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if c.router.Match(&router.Input{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(),
				Header: r.Header, Port: 8000}) == nil {
				b.Fatal("no match")
			}
		}
	})
	b.Run("plugins=none", func(b *testing.B) {
		b.ReportAllocs()
		ex := &exchange{c: c}
		for b.Loop() {
			if !c.plugins.Empty() {
				b.Fatal("plugins")
			}
			s.globals(r, ex, nil)
		}
	})
	b.Run("metrics", func(b *testing.B) {
		b.ReportAllocs()
		m := c.router.Match(&router.Input{Method: r.Method, Host: r.Host, Path: r.URL.EscapedPath(), Port: 8000})
		ex := &exchange{c: c, match: m, svc: c.services[m.Service.ID]}
		for b.Loop() {
			s.series(ex, ex.svc.label, m.Route.ID).Observe(http.StatusOK, time.Millisecond, 100*time.Microsecond)
		}
	})
	b.Run("access-log", func(b *testing.B) {
		b.ReportAllocs()
		ex := &exchange{c: c, clientIP: "127.0.0.1", start: time.Now()}
		// The end time advances 1 µs a line (finish reads the clock
		// once for every stage): the second changes every 10⁶ lines.
		end := ex.start
		for b.Loop() {
			end = end.Add(time.Microsecond)
			s.writeAccessLine(r, ex, end, http.StatusOK, "r", "s", 2, time.Millisecond, time.Millisecond)
		}
	})
}
