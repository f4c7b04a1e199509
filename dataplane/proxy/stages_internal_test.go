package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/router"
	"github.com/skyport-gw/skyport/internal/model"
)

// BenchmarkStages measures the proxy's per-request stages one by one,
// for the stage table in BENCHMARKS.md (issue 19's budgets): the router
// with one route, the plugin chain of a configuration without plugins,
// and the access log line written to a discarding writer. Metrics are
// BenchmarkObserveRequest in dataplane/status.
func BenchmarkStages(b *testing.B) {
	svc := model.NewService()
	svc.ID, svc.Host, svc.Port = "s", "127.0.0.1", 80
	rt := model.NewRoute()
	rt.ID, rt.Paths, rt.Service = "r", []string{"/"}, &model.Ref{ID: "s"}
	s := New(Options{Version: "bench", AccessLogWriter: io.Discard})
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
