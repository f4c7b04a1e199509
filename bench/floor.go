package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/proxy"
)

// floorRow is one proxy measured in one layout: the medians of the
// interleaved passes.
type floorRow struct {
	layout, scheme, proxy string
	rps, cpuUS, sysPerReq float64
	// cpuMin and cpuMax are the passes' extremes of cpuUS: how far the
	// machine moved the same row.
	cpuMin, cpuMax float64
	p99            time.Duration
	errors         int64
	// passes are the row's passes one by one, numbered as measured: a
	// pass of one row and the same pass of another in its layout and
	// scheme ran one after the other (see floorOrder).
	passes []floorPass
}

// The proxies of each layout and scheme, in the order measured: nginx
// and the h1 floor, then Skyport's data plane (one route, no plugins),
// with key-auth + rate-limiting, and among 10,000 routes.
const (
	floorNginx   = "nginx"
	floorH1      = "h1"
	floorH1Loop  = "h1, event loop"
	floorSkyport = "skyport"
	floorPlugins = "skyport, key-auth + rate-limiting"
	floorRoutes  = "skyport, 10k routes"
)

var floorProxies = []string{floorNginx, floorH1, floorH1Loop, floorSkyport, floorSkyOther, floorPlugins, floorRoutes}

// floorSkyOther is the data plane with the plain listener served the way
// its default is not (--event-loop), for the two side by side; TLS
// listeners never run on event loops, so it is measured plain only.
var floorSkyOther, floorSkyOtherLoop = func() (string, string) {
	if proxy.DefaultEventLoop {
		return "skyport, event loop off", "off"
	}
	return "skyport, event loop on", "on"
}()

// floorMeasured says whether proxy is measured over scheme.
func floorMeasured(proxy, scheme string) bool {
	return proxy != floorSkyOther || scheme == "http"
}

// floorSky is the configuration of one of Skyport's rows.
type floorSky struct {
	routes  int
	plugins bool
	// eventLoop is --event-loop's value: "" for the data plane's
	// default.
	eventLoop string
}

func floorSkyFor(proxy string) (floorSky, bool) {
	switch proxy {
	case floorSkyport:
		return floorSky{routes: 1}, true
	case floorSkyOther:
		return floorSky{routes: 1, eventLoop: floorSkyOtherLoop}, true
	case floorPlugins:
		return floorSky{routes: 1, plugins: true}, true
	case floorRoutes:
		return floorSky{routes: 10000}, true
	}
	return floorSky{}, false
}

// headers are what wrk sends to reach the bench route (its Host) and
// pass key-auth.
func (c floorSky) headers() map[string]string {
	h := map[string]string{"Host": benchHost(c.routes)}
	if c.plugins {
		h["apikey"] = "bench-key"
	}
	return h
}

// benchFloor measures the HTTP/1.1 floor: nginx proxy_pass against the
// minimal proxy on dataplane/h1 (`bench h1proxy`) and Skyport's data
// plane (one route, no plugins, access log off; the same with key-auth +
// rate-limiting, and among 10,000 routes), plain and over TLS,
// with each proxy pinned to one core (wrk and the upstream on the other)
// and unpinned. CPU time per request comes from /proc (utime+stime of
// the proxy's processes over the run), the stable figure on a shared
// machine; syscalls per request from perf when it can attach. After the
// measured passes, the profile pass (-skip floorprofile leaves it out)
// takes a CPU profile of the h1 floor and of Skyport's default row in
// each layout and scheme, for the report's "What the profile shows".
func benchFloor(ctx context.Context, e *env, o options, r *report) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	certFile, keyFile, err := writeCert(e.dir)
	if err != nil {
		return err
	}
	upPort := freePort()
	up, err := startUpstream(e.dir, upPort)
	if err != nil {
		return err
	}
	defer up.stop()
	if err := waitHTTP(ctx, "http://"+addr(upPort)+"/", 200, nil, 10*time.Second); err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	// In the 1-core layout the upstream runs on CPU 0 with wrk, leaving
	// CPU 1 to the proxy under test alone; unpinned, nothing is pinned.
	upPinnedPort := freePort()
	upPinned, err := startUpstreamOn(e.dir, "floor-upstream", upPinnedPort, "0")
	if err != nil {
		return err
	}
	defer upPinned.stop()
	if err := waitHTTP(ctx, "http://"+addr(upPinnedPort)+"/", 200, nil, 10*time.Second); err != nil {
		return fmt.Errorf("pinned upstream: %w", err)
	}
	measure := func(pass int, layout, scheme, proxy string) (floorSample, error) {
		port := upPort
		if layout == floorPinned {
			port = upPinnedPort
		}
		s, err := measureFloor(ctx, e, o, self, certFile, keyFile, port, layout == floorPinned, scheme, proxy, pass == 0)
		if err != nil {
			return s, fmt.Errorf("%s %s %s: %w", proxy, scheme, layout, err)
		}
		s.pass = pass
		fmt.Fprintf(os.Stderr, "  pass %d %-8s %-5s %-33s %9.0f req/s  %6.2f µs/req  p99 %s\n",
			pass+1, layout, scheme, proxy, s.res.RPS, s.cpuUS, ms(s.res.P99))
		return s, nil
	}
	samples, err := floorRounds(measure)
	if err != nil {
		return err
	}
	r.floor = append(r.floor, floorRowsFrom(samples)...)
	if !o.skip["floorprofile"] {
		secs := floorProfileSeconds(o.duration)
		r.floorProfiles = floorProfileRounds(secs, func(layout, scheme, proxy string) (floorProfile, error) {
			port := upPort
			if layout == floorPinned {
				port = upPinnedPort
			}
			return profileFloor(ctx, e, o, self, certFile, keyFile, port, layout == floorPinned, scheme, proxy, secs)
		})
	}
	for _, scheme := range []string{"http", "https"} {
		m, err := measureIdle(ctx, e, certFile, keyFile, upPort, scheme)
		if err != nil {
			return fmt.Errorf("idle connections, %s: %w", scheme, err)
		}
		fmt.Fprintf(os.Stderr, "  idle %-5s %d connections: %.1f KB Go heap+stacks, %.1f KB resident each\n",
			scheme, m.conns, m.heapKB, m.rssKB)
		r.idle = append(r.idle, m)
	}
	return nil
}

type floorSample struct {
	pass      int
	res       wrkResult
	cpuUS     float64
	sysPerReq float64
}

// measureFloor runs one proxy, loads it with wrk -t1 and reads its CPU
// time; with syscalls set, a second short run counts its syscalls.
func measureFloor(ctx context.Context, e *env, o options, self, cert, key string, upPort int, pinned bool,
	scheme, proxy string, syscalls bool) (floorSample, error) {
	port := freePort()
	p, headers, err := startFloorProxy(e, self, cert, key, port, upPort, pinned, scheme, proxy, "")
	if err != nil {
		return floorSample{}, err
	}
	defer p.stop()
	url := scheme + "://" + addr(port) + "/"
	if err := waitFloor(ctx, url, headers); err != nil {
		return floorSample{}, fmt.Errorf("%w\n%s", err, p.output())
	}
	wrk := func(d time.Duration) (wrkResult, error) {
		bin, args := floorPin(pinned, "0", append(append([]string{"wrk", "-t1", "-c", strconv.Itoa(o.conns), "-d", d.String(), "--latency"},
			wrkHeaders(headers)...), url)...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
		}
		return parseWrk(string(out))
	}
	if _, err := wrk(time.Second); err != nil {
		return floorSample{}, err
	}
	before, err := groupCPU(p.cmd.Process.Pid)
	if err != nil {
		return floorSample{}, err
	}
	res, err := wrk(o.duration)
	if err != nil {
		return floorSample{}, err
	}
	after, err := groupCPU(p.cmd.Process.Pid)
	if err != nil {
		return floorSample{}, err
	}
	s := floorSample{res: res}
	if res.Requests > 0 {
		s.cpuUS = float64(after-before) * 1e6 / float64(clockTicks) / float64(res.Requests)
	}
	if syscalls {
		s.sysPerReq = countSyscalls(p.cmd.Process.Pid, wrk)
	}
	return s, nil
}

// floorPin is the command that runs args, on cpu alone when pinned.
func floorPin(pinned bool, cpu string, args ...string) (string, []string) {
	if !pinned {
		return args[0], args[1:]
	}
	return "taskset", append([]string{"-c", cpu}, args...)
}

// startFloorProxy starts one of the floor's proxies on port (on CPU 1
// when pinned) and returns the headers wrk sends it. With pprof set, a
// Go proxy serves its profiles (/debug/pprof/) there; nginx has none.
func startFloorProxy(e *env, self, cert, key string, port, upPort int, pinned bool,
	scheme, proxy, pprof string) (*proc, map[string]string, error) {
	switch proxy {
	case floorNginx:
		if pprof != "" {
			return nil, nil, fmt.Errorf("nginx serves no Go profile")
		}
		conf := floorNginxConf(e.dir, port, upPort, pinned, scheme == "https", cert, key)
		path := filepath.Join(e.dir, "floor-nginx.conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			return nil, nil, err
		}
		bin, args := floorPin(pinned, "1", "nginx", "-c", path, "-e", filepath.Join(e.dir, "floor-nginx.stderr"))
		p, err := startProc("nginx", nil, bin, args...)
		return p, nil, err
	case floorH1, floorH1Loop:
		args := []string{self, "h1proxy", "-listen", addr(port), "-upstream", addr(upPort)}
		if proxy == floorH1Loop {
			args = append(args, "-loop")
		}
		if scheme == "https" {
			args = append(args, "-cert", cert, "-key", key)
		}
		if pprof != "" {
			args = append(args, "-pprof", pprof)
		}
		bin, args := floorPin(pinned, "1", args...)
		p, err := startProc("h1proxy", nil, bin, args...)
		return p, nil, err
	}
	sky, ok := floorSkyFor(proxy)
	if !ok {
		return nil, nil, fmt.Errorf("unknown proxy %q", proxy)
	}
	plain, tls := addr(port), addr(freePort())
	if scheme == "https" {
		plain, tls = addr(freePort()), addr(port)
	}
	dp, err := floorDPArgs(e, upPort, sky, plain, tls, cert, key)
	if err != nil {
		return nil, nil, err
	}
	if pprof != "" {
		dp = append(dp, "--pprof-listen", pprof)
	}
	bin, args := floorPin(pinned, "1", dp...)
	p, err := startProc("skyport", nil, bin, args...)
	return p, sky.headers(), err
}

// floorDPArgs writes the configuration of one of Skyport's rows and
// returns the command that serves it: plain on plain, TLS on tls, access
// log off.
func floorDPArgs(e *env, upPort int, sky floorSky, plain, tls, cert, key string) ([]string, error) {
	name := fmt.Sprintf("floor-skyport-%d-%t", sky.routes, sky.plugins)
	conf := filepath.Join(e.dir, name+".yml")
	if err := os.WriteFile(conf, []byte(kongYAML(upPort, sky.routes, sky.plugins)), 0o644); err != nil {
		return nil, err
	}
	args := []string{e.binary, "dp", "--declarative-config", conf, "--proxy-listen", plain,
		"--proxy-tls-listen", tls, "--status-listen", addr(freePort()), "--access-log", "off",
		"--ssl-cert", cert, "--ssl-cert-key", key, "--cache-dir", filepath.Join(e.dir, name+"-cache")}
	if sky.eventLoop != "" {
		args = append(args, "--event-loop", sky.eventLoop)
	}
	return args, nil
}

// wrkHeaders are wrk's -H arguments for headers, in a stable order.
func wrkHeaders(headers map[string]string) []string {
	var args []string
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		args = append(args, "-H", k+": "+headers[k])
	}
	return args
}

// waitFloor waits for a proxy to answer 200, over TLS without verifying.
// A data plane with 10,000 routes takes a while to compile them. (The
// warm-up wrk run that follows is what readies the proxy for the load.)
func waitFloor(ctx context.Context, url string, headers map[string]string) error {
	client := &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(60 * time.Second)
	last := "no answer"
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		for k, v := range headers {
			if strings.EqualFold(k, "host") {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 (last: %s)", url, last)
}

// clockTicks is USER_HZ, the unit of /proc's CPU times.
const clockTicks = 100

// groupCPU sums utime and stime of every process in pid's process group
// (nginx's master and workers; the Go proxy's one process).
func groupCPU(pgid int) (int64, error) {
	pids, err := groupPIDs(pgid)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, pid := range pids {
		f, err := procStat(pid)
		if err != nil {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		total += u + s
	}
	return total, nil
}

// procStat returns the fields of /proc/pid/stat after the command name:
// state is [0], pgrp [2], utime [11], stime [12].
func procStat(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return f, nil
}

func groupPIDs(pgid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, err := procStat(pid); err == nil && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// countSyscalls counts the proxy's syscalls with perf during a 3 s wrk
// run and divides by its requests; 0 when perf cannot attach.
func countSyscalls(pgid int, wrk func(time.Duration) (wrkResult, error)) float64 {
	pids, err := groupPIDs(pgid)
	if err != nil || len(pids) == 0 {
		return 0
	}
	list := make([]string, len(pids))
	for i, p := range pids {
		list[i] = strconv.Itoa(p)
	}
	perf := exec.Command("perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-p", strings.Join(list, ","), "--", "sleep", "4")
	var out strings.Builder
	perf.Stderr = &out
	if err := perf.Start(); err != nil {
		return 0
	}
	time.Sleep(300 * time.Millisecond)
	res, err := wrk(3 * time.Second)
	_ = perf.Wait()
	if err != nil || res.Requests == 0 {
		return 0
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Split(line, ","); len(f) > 2 && strings.Contains(line, "raw_syscalls") {
			n, err := strconv.ParseFloat(f[0], 64)
			if err == nil {
				// perf counted 4 s; wrk ran 3 of them.
				return n / float64(res.Requests)
			}
		}
	}
	return 0
}

func floorNginxConf(dir string, port, upstream int, pinned, tls bool, cert, key string) string {
	workers, listen := "auto", fmt.Sprintf("127.0.0.1:%d", port)
	if pinned {
		workers = "1"
	}
	ssl := ""
	if tls {
		listen += " ssl"
		ssl = fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;", cert, key)
	}
	return fmt.Sprintf(`worker_processes %[4]s;
daemon off;
pid %[1]s/floor-nginx.pid;
error_log %[1]s/floor-nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path %[1]s/fb; proxy_temp_path %[1]s/fp; fastcgi_temp_path %[1]s/ff; uwsgi_temp_path %[1]s/fu; scgi_temp_path %[1]s/fs;
  upstream up { server 127.0.0.1:%[3]d; keepalive 256; }
  server {
    listen %[2]s;
    %[5]s
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`, dir, listen, upstream, workers, ssl)
}

// writeCert writes a self-signed ECDSA certificate for 127.0.0.1.
func writeCert(dir string) (string, string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return "", "", err
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return "", "", err
	}
	cert, key := filepath.Join(dir, "floor.crt"), filepath.Join(dir, "floor.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	return cert, key, os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
}
