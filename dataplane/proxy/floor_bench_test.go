package proxy_test

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/skyport-gw/skyport/dataplane/h1"
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
