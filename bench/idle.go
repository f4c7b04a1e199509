package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// idleRow is the data plane's memory per idle kept-alive client
// connection, for one scheme.
type idleRow struct {
	scheme string
	conns  int
	// heapKB is the growth of the Go heap in use and the goroutine stacks
	// (after a forced collection) per connection, as dataplane/h1's
	// TestIdleConnectionMemory measures it but in the data plane's own
	// process; rssKB the growth of its resident memory per connection.
	heapKB, rssKB float64
}

// idleConns is how many kept-alive connections measureIdle holds open.
const idleConns = 1000

// measureIdle runs `skyport dp` (one route, no plugins, access log off),
// opens idleConns client connections that each send one request and then
// stay open, idle, and reads what the data plane holds for them: its Go
// heap and stacks from /metrics after a collection forced through
// --pprof-listen (/debug/pprof/heap?gc=1), and its VmRSS from /proc.
func measureIdle(ctx context.Context, e *env, cert, key string, upPort int, scheme string) (idleRow, error) {
	sky := floorSky{routes: 1}
	plain, tlsAddr := addr(freePort()), addr(freePort())
	status, pprof := addr(freePort()), addr(freePort())
	args, err := floorDPArgs(e, upPort, sky, plain, tlsAddr, cert, key)
	if err != nil {
		return idleRow{}, err
	}
	for i, a := range args {
		if a == "--status-listen" {
			args[i+1] = status
		}
	}
	args = append(args, "--pprof-listen", pprof)
	p, err := startProc("skyport", nil, args[0], args[1:]...)
	if err != nil {
		return idleRow{}, err
	}
	defer p.stop()
	if err := waitHTTP(ctx, "http://"+status+"/status/ready", 200, nil, 60*time.Second); err != nil {
		return idleRow{}, fmt.Errorf("%w\n%s", err, p.output())
	}
	target := plain
	if scheme == "https" {
		target = tlsAddr
	}
	dial := func() (net.Conn, error) {
		if scheme == "https" {
			d := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // the bench's own self-signed certificate
			return d.DialContext(ctx, "tcp", target)
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", target)
	}
	request := func(c net.Conn) error {
		if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
			return err
		}
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+benchHost(sky.routes)+"\r\nUser-Agent: bench\r\n\r\n"); err != nil {
			return err
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return c.SetDeadline(time.Time{})
	}
	// One connection first, closed, so that the upstream's pooled
	// connection and the first request's lazily made state are in the
	// baseline rather than spread over the connections measured.
	warm, err := dial()
	if err != nil {
		return idleRow{}, err
	}
	err = request(warm)
	warm.Close()
	if err != nil {
		return idleRow{}, fmt.Errorf("first request: %w", err)
	}
	time.Sleep(500 * time.Millisecond)
	heap0, err := dpHeap(ctx, status, pprof)
	if err != nil {
		return idleRow{}, err
	}
	rss0, err := p.rssKB()
	if err != nil {
		return idleRow{}, err
	}
	conns := make([]net.Conn, 0, idleConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range idleConns {
		c, err := dial()
		if err != nil {
			return idleRow{}, fmt.Errorf("connection %d: %w", len(conns)+1, err)
		}
		conns = append(conns, c)
		if err := request(c); err != nil {
			return idleRow{}, fmt.Errorf("connection %d: %w", len(conns), err)
		}
	}
	time.Sleep(time.Second)
	heap1, err := dpHeap(ctx, status, pprof)
	if err != nil {
		return idleRow{}, err
	}
	rss1, err := p.rssKB()
	if err != nil {
		return idleRow{}, err
	}
	return idleRow{scheme: scheme, conns: idleConns,
		heapKB: float64(heap1-heap0) / 1024 / idleConns,
		rssKB:  float64(rss1-rss0) / idleConns}, nil
}

// dpHeap forces a collection in the data plane and returns its Go heap in
// use and goroutine stacks, in bytes, from /metrics.
func dpHeap(ctx context.Context, status, pprof string) (int64, error) {
	if _, err := httpGet(ctx, "http://"+pprof+"/debug/pprof/heap?gc=1"); err != nil {
		return 0, err
	}
	body, err := httpGet(ctx, "http://"+status+"/metrics")
	if err != nil {
		return 0, err
	}
	return heapFromMetrics(body)
}

// heapFromMetrics adds go_memstats_heap_alloc_bytes and
// go_memstats_stack_inuse_bytes from a Prometheus text exposition.
func heapFromMetrics(body string) (int64, error) {
	var total int64
	found := 0
	for _, line := range strings.Split(body, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || (f[0] != "go_memstats_heap_alloc_bytes" && f[0] != "go_memstats_stack_inuse_bytes") {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s: %w", f[0], err)
		}
		total += int64(v)
		found++
	}
	if found != 2 {
		return 0, fmt.Errorf("go_memstats_heap_alloc_bytes and go_memstats_stack_inuse_bytes not both in /metrics")
	}
	return total, nil
}

// httpGet reads a small response (up to 4 MB) that must be 200.
func httpGet(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d", url, res.StatusCode)
	}
	return string(body), nil
}
