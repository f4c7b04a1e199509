package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// applyResult is the apply section's numbers.
type applyResult struct {
	routes           int
	snapshotBytes    int
	p50, p99, max    time.Duration
	peakRSSKB        int64
	underLoad        wrkResult
	appliesUnderLoad int
}

// routesConfig builds a configuration with n host routes to one service.
func routesConfig(n, upstream int, tag string) *model.Config {
	cfg := &model.Config{}
	svc := model.NewService()
	svc.ID = "00000000-0000-4000-8000-000000000001"
	svc.Name = model.String("bench")
	svc.Host = "127.0.0.1"
	svc.Port = upstream
	cfg.Services = append(cfg.Services, svc)
	for i := range n {
		rt := model.NewRoute()
		rt.ID = fmt.Sprintf("00000000-0000-4000-9000-%012d", i)
		rt.Name = model.String(fmt.Sprintf("r%d", i))
		rt.Hosts = []string{fmt.Sprintf("h%d.bench.test", i)}
		rt.Paths = []string{"/"}
		rt.Tags = []string{tag}
		rt.Service = &model.Ref{ID: svc.ID}
		cfg.Routes = append(cfg.Routes, rt)
	}
	return cfg
}

// benchApply measures fetch (from a local file), verify, compile and swap
// of a 10k-route snapshot, then serves wrk while applies keep happening.
func benchApply(ctx context.Context, e *env, o options, r *report) error {
	pub, priv, err := snapshot.GenerateKey()
	if err != nil {
		return err
	}
	upPort := freePort()
	up, err := startUpstream(e.dir, upPort)
	if err != nil {
		return err
	}
	defer up.stop()
	const routes = 10000
	var files []string
	var ptrs []snapshot.Pointer
	for i := range 2 {
		doc := &snapshot.Document{Revision: int64(i + 1), Config: *routesConfig(routes, upPort, fmt.Sprint(i))}
		data, ptr, err := snapshot.Seal(doc, priv, time.Now())
		if err != nil {
			return err
		}
		path := filepath.Join(e.dir, fmt.Sprintf("apply-%d.json.gz", i))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		files, ptrs = append(files, path), append(ptrs, ptr)
	}
	srv := proxy.New(proxy.Options{Version: "bench", RetireTimeout: time.Second})
	defer srv.Close()
	res := applyResult{routes: routes, snapshotBytes: int(ptrs[0].Size)}
	rev := int64(0)
	applyOnce := func() (time.Duration, error) {
		i := int(rev % 2)
		rev++
		start := time.Now()
		data, err := os.ReadFile(files[i])
		if err != nil {
			return 0, err
		}
		doc, err := snapshot.Open(data, ptrs[i], pub)
		if err != nil {
			return 0, err
		}
		if err := srv.Apply(ctx, &doc.Config, rev, "file"); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	var times []time.Duration
	for range 20 {
		d, err := applyOnce()
		if err != nil {
			return err
		}
		times = append(times, d)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	res.p50, res.p99, res.max = times[len(times)/2], times[len(times)*99/100], times[len(times)-1]

	// Serve wrk while 100 applies happen.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/"
	headers := map[string]string{"Host": benchHost(routes)}
	if err := waitHTTP(ctx, url, 200, headers, 10*time.Second); err != nil {
		return err
	}
	// wrk runs long enough for the applies, which are spread over its run.
	loadFor := time.Duration(o.writes) * 200 * time.Millisecond
	if loadFor < 10*time.Second {
		loadFor = 10 * time.Second
	}
	gap := loadFor / time.Duration(o.writes+2)
	done := make(chan wrkResult, 1)
	errc := make(chan error, 1)
	go func() {
		w, err := runWrk(url, o.conns, o.threads, loadFor, headers)
		if err != nil {
			errc <- err
			return
		}
		done <- w
	}()
	time.Sleep(gap)
	for range o.writes {
		start := time.Now()
		if _, err := applyOnce(); err != nil {
			return err
		}
		res.appliesUnderLoad++
		if rest := gap - time.Since(start); rest > 0 {
			time.Sleep(rest)
		}
	}
	select {
	case res.underLoad = <-done:
	case err := <-errc:
		return err
	}
	res.peakRSSKB = selfHWM()
	r.apply = &res
	fmt.Fprintf(os.Stderr, "  apply p50 %s p99 %s; under load %0.f req/s, %d errors during %d applies\n",
		res.p50, res.p99, res.underLoad.RPS, res.underLoad.Errors, res.appliesUnderLoad)
	return nil
}

// selfHWM is this process's peak resident memory.
func selfHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}
