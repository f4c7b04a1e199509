package proxy_test

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/internal/cputime"
)

// BenchmarkProxyH1Floor is BenchmarkProxyH1's request through the floor
// of a proxy on h1 (what `bench h1proxy` serves): the client's fields
// less Host and the hop-by-hop ones, X-Forwarded-For, one kept upstream
// connection, the response's fields copied into h1's response. No
// routing, plugins, metrics, request id or latency fields: what
// BenchmarkProxyH1/path=native spends above it is the proxy's own work.
func BenchmarkProxyH1Floor(b *testing.B) {
	const res = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Date: Fri, 27 Nov 2026 16:00:00 GMT\r\nContent-Length: 2\r\n\r\nok"
	up, err := net.Dial("tcp", cannedUpstream(b, res))
	if err != nil {
		b.Fatal(err)
	}
	defer up.Close()
	f := &floorHandler{host: up.RemoteAddr().String(), up: up, br: bufio.NewReader(up)}
	benchServer(b, &h1.Server{Handler: f}, "")
}

// floorHandler forwards every request on one upstream connection.
type floorHandler struct {
	host string
	mu   sync.Mutex
	up   net.Conn
	br   *bufio.Reader
	wbuf []byte
}

// ServeH1 implements h1.Handler.
func (f *floorHandler) ServeH1(w *h1.Response, r *h1.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := append(f.wbuf[:0], r.Method()...)
	b = append(append(b, ' '), r.Path()...)
	if q := r.Query(); q != nil {
		b = append(append(b, '?'), q...)
	}
	b = append(append(append(b, " HTTP/1.1\r\nHost: "...), f.host...), "\r\n"...)
	h := r.Header()
	for i := range h.Len() {
		n, v := h.At(i)
		switch string(bytes.ToLower(n)) {
		case "host", "connection", "keep-alive", "te", "upgrade", "proxy-connection", "transfer-encoding":
			continue
		}
		b = append(append(append(append(b, n...), ": "...), v...), "\r\n"...)
	}
	b = r.ClientAddr().Addr().AppendTo(append(b, "X-Forwarded-For: "...))
	b = append(b, "\r\n\r\n"...)
	f.wbuf = b
	if _, err := f.up.Write(b); err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	line, err := f.br.ReadSlice('\n')
	if err != nil || len(line) < 12 {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	status, _ := strconv.Atoi(string(line[9:12]))
	length := 0
	for {
		line, err := f.br.ReadSlice('\n')
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		i := bytes.IndexByte(line, ':')
		name, value := line[:i], bytes.TrimSpace(line[i+1:])
		if string(name) == "Content-Length" {
			length, _ = strconv.Atoi(string(value))
		}
		w.Header().AddBytes(name, value)
	}
	w.WriteHeader(status)
	p, _ := f.br.Peek(length)
	_, _ = w.Write(p)
	_, _ = f.br.Discard(length)
}

// BenchmarkProxyH1Rest measures what BenchmarkProxyH1/path=native spends
// above BenchmarkProxyH1Floor, robustly on a shared machine: the two
// (the same proxy, floor handler, upstream and request as those
// benchmarks) serve in alternation, restRounds rounds of b.N/restRounds
// requests each, the order flipped every round, and the process's CPU
// time of each block is read. One op is a request on each path.
//
// rest-cpu-ns/op is the median over rounds of the per-round difference
// (native − floor, CPU per request): load that comes and goes between
// rounds raises both figures of a round alike, and the median drops the
// rounds a burst hit on one side only. native-cpu-ns/op and
// floor-cpu-ns/op are each path's median. (User time alone would leave
// the system calls out, but Linux splits a process's CPU time into user
// and system by sampling at the scheduler's tick, too coarse for blocks
// this short: the split swung by 3 µs between runs.)
func BenchmarkProxyH1Rest(b *testing.B) {
	px, upAddr := benchProxyH1(b)
	native := dialBench(b, listenBench(b, px.Frontend(nil)), "")

	up, err := net.Dial("tcp", upAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer up.Close()
	floor := dialBench(b, listenBench(b, &h1.Server{Handler: &floorHandler{host: upAddr, up: up, br: bufio.NewReader(up)}}), "")

	b.ReportAllocs()
	per := max(b.N/restRounds, 1)
	var rest, nat, flo []float64
	start := cputime.Process()
	b.ResetTimer()
	for round := range restRounds {
		first, second := native, floor
		if round%2 == 1 {
			first, second = floor, native
		}
		t0 := cputime.Process()
		for range per {
			first.do(b)
		}
		t1 := cputime.Process()
		for range per {
			second.do(b)
		}
		t2 := cputime.Process()
		a, c := float64(t1-t0)/float64(per), float64(t2-t1)/float64(per)
		if first == floor {
			a, c = c, a
		}
		nat, flo = append(nat, a), append(flo, c)
		rest = append(rest, a-c)
	}
	b.StopTimer()
	cputime.Report(b, start, per*restRounds)
	b.ReportMetric(median(rest), "rest-cpu-ns/op")
	b.ReportMetric(median(nat), "native-cpu-ns/op")
	b.ReportMetric(median(flo), "floor-cpu-ns/op")
}

// restRounds is how many rounds BenchmarkProxyH1Rest alternates.
const restRounds = 20

// median is the median of v (the mean of the middle two for an even
// count); v is sorted in place.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
