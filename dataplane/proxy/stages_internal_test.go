package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/status"
	"github.com/skyport-gw/skyport/internal/cputime"
	"github.com/skyport-gw/skyport/internal/model"
)

// BenchmarkStages measures the proxy's per-request stages one by one,
// for the stage table in BENCHMARKS.md (issue 19's budgets): the router
// (Server.route on a request as h1 hands it to the proxy, with one route
// and with 10,000), the plugin chain of a configuration without plugins,
// the metrics of a request (the route's Series, kept with the
// configuration, and dataplane/status's observation), and the access log
// line written to a discarding writer.
func BenchmarkStages(b *testing.B) {
	metrics := status.NewMetrics()
	s, c := stagesServer(b, 1, Options{Version: "bench", AccessLogWriter: io.Discard,
		Observer: ObserverFunc(func(svc, route string) Series { return metrics.Series(svc, route) })})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("User-Agent", "wrk")
	const head = "GET /v1/items/42 HTTP/1.1\r\nHost: api5000.example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("router/routes=%d", n), func(b *testing.B) {
			s, c := s, c
			if n > 1 {
				s, c = stagesServer(b, n, Options{})
			}
			inH1(b, s, head, func(r *http.Request) {
				ex := &exchange{c: c, port: "9080"}
				b.ReportAllocs()
				cputime.Loop(b, func() {
					if m := s.route(c, r, ex, ""); m == nil || m.Route.ID != "route-5000" {
						b.Fatalf("matched %+v", m)
					}
				})
			})
		})
	}
	b.Run("plugins=none", func(b *testing.B) {
		b.ReportAllocs()
		ex := &exchange{c: c}
		cputime.Loop(b, func() {
			if !c.plugins.Empty() {
				b.Fatal("plugins")
			}
			s.globals(r, ex, nil)
		})
	})
	b.Run("metrics", func(b *testing.B) {
		ex := &exchange{c: c, port: "9080"}
		m := s.route(c, httptest.NewRequest(http.MethodGet, "http://api5000.example.com/v1", nil), ex, "")
		ex.match, ex.svc = m, c.services[m.Service.ID]
		b.ReportAllocs()
		cputime.Loop(b, func() {
			s.series(ex, ex.svc.label, m.Route.ID).Observe(http.StatusOK, time.Millisecond, 100*time.Microsecond)
		})
	})
	b.Run("metrics/native", func(b *testing.B) {
		// As the native path observes: the pooled exchange's memo holds
		// the route's Series.
		ex := &exchange{c: c, port: "9080", memo: &routeMemo{}}
		m := s.route(c, httptest.NewRequest(http.MethodGet, "http://api5000.example.com/v1", nil), ex, "")
		ex.match, ex.svc = m, c.services[m.Service.ID]
		b.ReportAllocs()
		cputime.Loop(b, func() {
			s.series(ex, ex.svc.label, m.Route.ID).Observe(http.StatusOK, time.Millisecond, 100*time.Microsecond)
		})
	})
	b.Run("access-log", func(b *testing.B) {
		b.ReportAllocs()
		ex := &exchange{c: c, clientIP: "127.0.0.1", start: time.Now()}
		// The end time advances 1 µs a line (finish reads the clock
		// once for every stage): the second changes every 10⁶ lines.
		end := ex.start
		cputime.Loop(b, func() {
			end = end.Add(time.Microsecond)
			s.writeAccessLine(r.Method, r.URL.Path, ex, end, http.StatusOK, "r", "s", 2, time.Millisecond, time.Millisecond)
		})
	})
}

// stagesServer is a proxy whose configuration has n routes, those of
// BenchRoutes, to one service.
func stagesServer(b *testing.B, n int, o Options) (*Server, *compiled) {
	b.Helper()
	svc := model.NewService()
	svc.ID, svc.Host, svc.Port = "s", "127.0.0.1", 80
	s := New(o)
	b.Cleanup(func() { s.Close() })
	if err := s.Apply(context.Background(), &model.Config{Services: []*model.Service{svc}, Routes: BenchRoutes(n, "s")}, 1, "bench"); err != nil {
		b.Fatal(err)
	}
	return s, s.cur.Load()
}

// inH1 sends head to a Frontend of s on a loopback listener and calls fn
// with the request its handler gets, as the proxy gets it from h1.
func inH1(b *testing.B, s *Server, head string, fn func(r *http.Request)) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	f := s.Frontend(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn(r)
		w.WriteHeader(http.StatusNoContent)
	}))
	done := make(chan error, 1)
	go func() { done <- f.Serve(ln) }()
	defer func() {
		_ = f.Close()
		<-done
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		b.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		b.Fatalf("status %d", res.StatusCode)
	}
}
