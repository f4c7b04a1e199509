package proxy_test

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/cputime"
	"github.com/skyport-gw/skyport/internal/model"
)

// BenchmarkProxyH1Routes is BenchmarkProxyH1's native path to route-5000
// of BenchmarkStages' routes, alone (routes=1) and among 10,000
// (routes=10000): the whole request, routing included, in CPU per
// request (cpu-ns/op). Issue 19's "10k routes within 5% of 1 route" is
// judged on the pair, run one after the other in separate processes by
// the bench's gobench section, since wrk's passes on a shared machine
// move by more than 5%. Each size compiles its configuration only when
// it runs, so that a process running one pays for that one alone.
func BenchmarkProxyH1Routes(b *testing.B) {
	const res = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Date: Fri, 27 Nov 2026 16:00:00 GMT\r\nContent-Length: 2\r\n\r\nok"
	upAddr := cannedUpstream(b, res)
	host, p, _ := net.SplitHostPort(upAddr)
	port, _ := strconv.Atoi(p)
	const head = "GET /v1/items/42 HTTP/1.1\r\nHost: api5000.example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			cfg := &model.Config{Services: []*model.Service{service("s", host, port, "")}, Routes: proxy.BenchRoutes(n, "s")}
			px := proxy.New(proxy.Options{Version: "bench", LatencyHeaders: true, RequestID: true})
			if err := px.Apply(b.Context(), cfg, 1, "bench"); err != nil {
				b.Fatal(err)
			}
			defer px.Close()
			benchHead(b, px.Frontend(nil), head)
		})
	}
}

// benchHead serves f on a loopback listener and measures the request
// head given, sent on one kept-alive connection: allocations and the
// process's CPU per request (cpu-ns/op).
func benchHead(b *testing.B, f *proxy.Frontend, head string) {
	conn := dialRaw(b, listenBench(b, f))
	req, br := []byte(head), bufio.NewReader(conn)
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := readResponse(br); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, cpu, b.N)
}

// BenchmarkProxyH1RoutesPaired is BenchmarkProxyH1Routes with both sizes
// in one process, interleaved: blocks of routesBlock requests go to the
// proxy with one route and to the one with 10,000 in turn, each block's
// CPU time (the process's) counted to its proxy, so that both see the
// same machine from one millisecond to the next. It reports each one's
// CPU per request (routes1-cpu-ns/op, routes10000-cpu-ns/op); issue
// 19's "10k routes within 5% of 1 route" is judged on their ratio.
func BenchmarkProxyH1RoutesPaired(b *testing.B) {
	const res = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Date: Fri, 27 Nov 2026 16:00:00 GMT\r\nContent-Length: 2\r\n\r\nok"
	upAddr := cannedUpstream(b, res)
	host, p, _ := net.SplitHostPort(upAddr)
	port, _ := strconv.Atoi(p)
	const head = "GET /v1/items/42 HTTP/1.1\r\nHost: api5000.example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
	type side struct {
		conn net.Conn
		br   *bufio.Reader
		cpu  time.Duration
		n    int
	}
	var sides [2]*side
	for i, n := range []int{1, 10000} {
		cfg := &model.Config{Services: []*model.Service{service("s", host, port, "")}, Routes: proxy.BenchRoutes(n, "s")}
		px := proxy.New(proxy.Options{Version: "bench", LatencyHeaders: true, RequestID: true})
		if err := px.Apply(b.Context(), cfg, 1, "bench"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { px.Close() })
		conn := dialRaw(b, listenBench(b, px.Frontend(nil)))
		sides[i] = &side{conn: conn, br: bufio.NewReader(conn)}
	}
	// The configurations' garbage is collected before, not during, the
	// measurement.
	runtime.GC()
	req := []byte(head)
	b.ReportAllocs()
	i := 0
	start := cputime.Process()
	for b.Loop() {
		s := sides[(i/routesBlock)%2]
		if _, err := s.conn.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := readResponse(s.br); err != nil {
			b.Fatal(err)
		}
		s.n++
		i++
		if i%routesBlock == 0 {
			now := cputime.Process()
			s.cpu += now - start
			start = now
		}
	}
	if s := sides[(i/routesBlock)%2]; i%routesBlock != 0 {
		s.cpu += cputime.Process() - start
	}
	for k, name := range []string{"routes1-cpu-ns/op", "routes10000-cpu-ns/op"} {
		if sides[k].n > 0 {
			b.ReportMetric(float64(sides[k].cpu)/float64(sides[k].n), name)
		}
	}
}

// routesBlock is how many requests BenchmarkProxyH1RoutesPaired sends to
// one proxy before it turns to the other: a few milliseconds.
const routesBlock = 64
