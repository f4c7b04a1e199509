package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/skyport-gw/skyport/dataplane/h1"
	"github.com/skyport-gw/skyport/dataplane/loop"
)

// runH1Proxy is `bench h1proxy`: the floor of an HTTP/1.1 proxy on
// dataplane/h1, a pooled upstream client and nothing else (no routing,
// plugins, metrics or logs), the figure the proxy's own stages add to.
func runH1Proxy(args []string) error {
	fs := flag.NewFlagSet("h1proxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve")
	upstream := fs.String("upstream", "", "upstream host:port")
	cert := fs.String("cert", "", "TLS certificate file (with -key: serve TLS)")
	key := fs.String("key", "", "TLS key file")
	onLoop := fs.Bool("loop", false, "serve on dataplane/loop's event loops (one per GOMAXPROCS) and dial the upstream from them")
	pprofListen := fs.String("pprof", "", "address to serve the runtime profiles (/debug/pprof/) on; empty: none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pprofListen != "" {
		stop, err := servePprof(*pprofListen)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *onLoop {
		return runH1ProxyLoop(*listen, *upstream, *cert, *key)
	}
	srv := &h1.Server{Handler: &floorProxy{pool: &upstreamPool{addr: *upstream}, host: *upstream}}
	if *cert != "" {
		c, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return fmt.Errorf("loading the certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, h1.ErrServerClosed) {
		return err
	}
	return nil
}

// runH1ProxyLoop serves the floor proxy on event loops: one loop per
// GOMAXPROCS, each with its own h1.Server and upstream pool, its upstream
// connections dialed by the loop.
func runH1ProxyLoop(listen, upstream, cert, key string) error {
	up, err := netip.ParseAddrPort(upstream)
	if err != nil {
		return fmt.Errorf("-upstream: %w", err)
	}
	var tlsConfig *tls.Config
	if cert != "" {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("loading the certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	}
	a, err := net.ResolveTCPAddr("tcp", listen)
	if err != nil {
		return err
	}
	ln, err := net.ListenTCP("tcp", a)
	if err != nil {
		return err
	}
	defer ln.Close()
	var groups []*loop.Group
	var servers []*h1.Server
	for range runtime.GOMAXPROCS(0) {
		pool := &upstreamPool{addr: upstream}
		srv := &h1.Server{Handler: &floorProxy{pool: pool, host: upstream}, TLSConfig: tlsConfig}
		pool.dial = func(c net.Conn) (net.Conn, error) {
			l, ok := loop.Of(c)
			if !ok {
				return nil, errors.New("not on a loop")
			}
			return l.Dial(up, 10*time.Second)
		}
		g, err := loop.Serve(ln, 1, func(c *loop.Conn) {
			pool.cur = c
			srv.ServeConn(c)
		})
		if err != nil {
			return err
		}
		groups, servers = append(groups, g), append(servers, srv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	for i, g := range groups {
		_ = g.Close()
		_ = servers[i].Close()
	}
	for _, g := range groups {
		g.Wait()
	}
	return nil
}

// servePprof serves the runtime profiles on addr until stop.
func servePprof(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

// floorProxy forwards every request to one upstream.
type floorProxy struct {
	pool *upstreamPool
	host string
}

// errStale is a pooled upstream connection that failed before any byte
// of the response: the request is sent again on a new one.
var errStale = errors.New("stale upstream connection")

// ServeH1 implements h1.Handler.
func (p *floorProxy) ServeH1(w *h1.Response, r *h1.Request) {
	if r.Chunked() {
		w.WriteHeader(http.StatusLengthRequired)
		return
	}
	for attempt := 0; ; attempt++ {
		uc, reused, err := p.pool.get()
		if err == nil {
			err = p.roundTrip(w, r, uc)
			if err == nil {
				return
			}
			uc.nc.Close()
		}
		if errors.Is(err, errStale) && reused && attempt == 0 {
			continue
		}
		if w.Status() == 0 {
			w.WriteHeader(http.StatusBadGateway)
		}
		return
	}
}

// hop lists the fields that are not forwarded.
func hop(name []byte) bool {
	switch len(name) {
	case 2:
		return equalFold(name, "te")
	case 4:
		return equalFold(name, "host")
	case 7:
		return equalFold(name, "upgrade") || equalFold(name, "trailer")
	case 10:
		return equalFold(name, "connection") || equalFold(name, "keep-alive")
	case 14:
		return equalFold(name, "content-length")
	case 16:
		return equalFold(name, "proxy-connection")
	case 17:
		return equalFold(name, "transfer-encoding")
	}
	return false
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func (p *floorProxy) roundTrip(w *h1.Response, r *h1.Request, uc *upConn) error {
	b := append(uc.wbuf[:0], r.Method()...)
	b = append(b, ' ')
	b = append(b, r.Path()...)
	if q := r.Query(); q != nil {
		b = append(b, '?')
		b = append(b, q...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, p.host...)
	b = append(b, "\r\n"...)
	h := r.Header()
	for i := range h.Len() {
		n, v := h.At(i)
		if hop(n) {
			continue
		}
		b = append(append(append(append(b, n...), ": "...), v...), "\r\n"...)
	}
	b = append(b, "X-Forwarded-For: "...)
	b = r.ClientAddr().Addr().AppendTo(b)
	if n := r.ContentLength(); n > 0 {
		b = append(b, "\r\nContent-Length: "...)
		b = strconv.AppendInt(b, n, 10)
	}
	b = append(b, "\r\n\r\n"...)
	uc.wbuf = b
	if _, err := uc.nc.Write(b); err != nil {
		return fmt.Errorf("%w: %w", errStale, err)
	}
	if r.ContentLength() > 0 {
		if _, err := io.Copy(uc.nc, r.Body()); err != nil {
			return err
		}
	}
	return p.readResponse(w, r, uc)
}

func (p *floorProxy) readResponse(w *h1.Response, r *h1.Request, uc *upConn) error {
	line, err := uc.br.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("%w: %w", errStale, err)
	}
	if len(line) < 12 || string(line[:7]) != "HTTP/1." {
		return errors.New("malformed status line")
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return errors.New("malformed status")
	}
	length, chunked, closing := int64(-1), false, false
	for {
		line, err := uc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = trimCRLF(line)
		if len(line) == 0 {
			break
		}
		i := indexColon(line)
		if i <= 0 {
			return errors.New("malformed header line")
		}
		name, value := line[:i], trimSpace(line[i+1:])
		switch {
		case equalFold(name, "content-length"):
			length, err = strconv.ParseInt(string(value), 10, 64)
			if err != nil {
				return errors.New("malformed Content-Length")
			}
			w.Header().AddBytes(name, value)
			continue
		case equalFold(name, "transfer-encoding"):
			chunked = true
		case equalFold(name, "connection"):
			closing = equalFold(value, "close")
		}
		if !hop(name) {
			w.Header().AddBytes(name, value)
		}
	}
	w.WriteHeader(status)
	switch {
	case string(r.Method()) == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified:
	case chunked:
		return errors.New("chunked responses are not in the floor proxy")
	case length >= 0:
		for length > 0 {
			b, _ := uc.br.Peek(int(min(length, int64(uc.br.Size()))))
			if len(b) == 0 {
				return io.ErrUnexpectedEOF
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
			_, _ = uc.br.Discard(len(b))
			length -= int64(len(b))
		}
	default:
		_, err := io.Copy(w, uc.br)
		closing = true
		if err != nil {
			return err
		}
	}
	if closing {
		uc.nc.Close()
	} else {
		p.pool.put(uc)
	}
	return nil
}

func trimCRLF(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func indexColon(b []byte) int {
	for i, c := range b {
		if c == ':' {
			return i
		}
	}
	return -1
}

// upstreamPool keeps idle upstream connections, most recently used
// first.
type upstreamPool struct {
	addr string
	// dial, when set, dials from the event loop serving cur, any
	// connection of that loop (-loop: one pool per loop, whose tasks
	// alone use it).
	dial func(cur net.Conn) (net.Conn, error)
	cur  net.Conn
	mu   sync.Mutex
	idle []*upConn
}

// upConn is one upstream connection and its buffers.
type upConn struct {
	nc   net.Conn
	br   *bufio.Reader
	wbuf []byte
}

func (p *upstreamPool) get() (*upConn, bool, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		uc := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return uc, true, nil
	}
	p.mu.Unlock()
	var nc net.Conn
	var err error
	if p.dial != nil {
		nc, err = p.dial(p.cur)
	} else {
		nc, err = net.Dial("tcp", p.addr)
	}
	if err != nil {
		return nil, false, err
	}
	return &upConn{nc: nc, br: bufio.NewReaderSize(nc, 8<<10), wbuf: make([]byte, 0, 2<<10)}, false, nil
}

func (p *upstreamPool) put(uc *upConn) {
	p.mu.Lock()
	p.idle = append(p.idle, uc)
	p.mu.Unlock()
}
