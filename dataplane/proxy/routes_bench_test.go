package proxy_test

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"testing"

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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = f.Serve(ln) }()
	defer f.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
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
