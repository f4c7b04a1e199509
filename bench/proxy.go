package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// proxyRow is one proxy measured under the same load.
type proxyRow struct {
	name   string
	result wrkResult
}

// startSkyportDP runs a data plane from a declarative file and waits until
// it is ready; it returns the proxy address.
func startSkyportDP(ctx context.Context, e *env, name, yaml string) (*proc, string, string, error) {
	path := filepath.Join(e.dir, name+".yml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		return nil, "", "", err
	}
	proxy, status := addr(freePort()), addr(freePort())
	p, err := startProc(name, nil, e.binary, "dp", "--declarative-config", path,
		"--proxy-listen", proxy, "--proxy-tls-listen", addr(freePort()), "--status-listen", status,
		"--latency-headers=true")
	if err != nil {
		return nil, "", "", err
	}
	if err := waitHTTP(ctx, "http://"+status+"/status/ready", 200, nil, 60*time.Second); err != nil {
		p.stop()
		return nil, "", "", fmt.Errorf("%s: %w\n%s", name, err, p.output())
	}
	return p, proxy, status, nil
}

func benchProxy(ctx context.Context, e *env, o options, r *report) error {
	upPort := freePort()
	up, err := startUpstream(e.dir, upPort)
	if err != nil {
		return err
	}
	defer up.stop()
	if err := waitHTTP(ctx, "http://"+addr(upPort)+"/", 200, nil, 10*time.Second); err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	measure := func(name, url string, headers map[string]string, p *proc) error {
		if err := waitHTTP(ctx, url, 200, headers, 20*time.Second); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		// A short warm-up fills connection pools and caches.
		if _, err := runWrk(url, o.conns, o.threads, 2*time.Second, headers); err != nil {
			return err
		}
		res, err := runWrk(url, o.conns, o.threads, o.duration, headers)
		if err != nil {
			return err
		}
		row := proxyRow{name: name, result: res}
		r.proxy = append(r.proxy, row)
		fmt.Fprintf(os.Stderr, "  %-34s %9.0f req/s  p50 %-8s p99 %-8s errors %d\n", name, res.RPS, res.P50, res.P99, res.Errors)
		return nil
	}
	if err := measure("upstream (no proxy)", "http://"+addr(upPort)+"/", nil, nil); err != nil {
		return err
	}
	peers := []struct {
		name  string
		start func(dir string, port, upstream int) (*proc, error)
	}{
		{"nginx proxy_pass", startNginxProxy},
		{"Caddy reverse_proxy", startCaddy},
		{"HAProxy", startHAProxy},
	}
	for _, peer := range peers {
		port := freePort()
		p, err := peer.start(e.dir, port, upPort)
		if err != nil {
			return err
		}
		err = measure(peer.name, "http://"+addr(port)+"/", nil, p)
		p.stop()
		if err != nil {
			return err
		}
	}
	logs, err := startLogReceiver()
	if err != nil {
		return err
	}
	defer logs.Close()
	for _, c := range []struct {
		name    string
		routes  int
		plugins bool
		httpLog bool
	}{
		{"Skyport, 1 route", 1, false, false},
		{"Skyport, 10k routes", 10000, false, false},
		{"Skyport, 1 route, key-auth + rate-limiting", 1, true, false},
		{"Skyport, 10k routes, key-auth + rate-limiting", 10000, true, false},
		{"Skyport, 1 route, http-log", 1, false, true},
	} {
		yaml := kongYAML(upPort, c.routes, c.plugins)
		if c.httpLog {
			yaml = withHTTPLog(yaml, "http://"+logs.Addr().String()+"/logs")
		}
		p, proxy, _, err := startSkyportDP(ctx, e, fmt.Sprintf("dp-%d-%t-%t", c.routes, c.plugins, c.httpLog), yaml)
		if err != nil {
			return err
		}
		headers := map[string]string{"Host": benchHost(c.routes)}
		if c.plugins {
			headers["apikey"] = "bench-key"
		}
		err = measure(c.name, "http://"+proxy+"/", headers, p)
		p.stop()
		if err != nil {
			return err
		}
	}
	return nil
}

// startLogReceiver runs the log server http-log sends to: it reads and
// discards each batch, in 64 kB reads (a batch of 100 records is about
// 150 kB), so that the receiver, which shares the cores with the data
// plane, costs as little as it can.
func startLogReceiver() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for logs: %w", err)
	}
	bufs := sync.Pool{New: func() any { return new([64 << 10]byte) }}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		buf := bufs.Get().(*[64 << 10]byte)
		defer bufs.Put(buf)
		for {
			if _, err := r.Body.Read(buf[:]); err != nil {
				return
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	return ln, nil
}
