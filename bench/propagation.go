package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// propagationRow is the write → every-DP-serving latency distribution.
type propagationRow struct {
	backend       string
	writes        int
	p50, p99, max time.Duration
}

func postJSON(url string, body any) error {
	raw, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}

// startMoto runs the AWS emulator for the aws backend.
func startMoto(ctx context.Context) (*proc, []string, error) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return nil, nil, fmt.Errorf("moto_server not installed")
	}
	port := freePort()
	p, err := startProc("moto", nil, "moto_server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err != nil {
		return nil, nil, err
	}
	endpoint := "http://" + addr(port)
	if err := waitHTTP(ctx, endpoint+"/moto-api/data.json", 200, nil, 30*time.Second); err != nil {
		p.stop()
		return nil, nil, err
	}
	return p, []string{"AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1"}, nil
}

func benchPropagation(ctx context.Context, e *env, o options, r *report) error {
	upPort := freePort()
	up, err := startUpstream(e.dir, upPort)
	if err != nil {
		return err
	}
	defer up.stop()
	for _, backend := range []string{"embedded", "aws"} {
		row, err := propagate(ctx, e, o, backend, upPort)
		if err != nil {
			return fmt.Errorf("%s backend: %w", backend, err)
		}
		r.propagation = append(r.propagation, row)
		fmt.Fprintf(os.Stderr, "  %s: p50 %s p99 %s\n", backend, row.p50, row.p99)
	}
	return nil
}

func propagate(ctx context.Context, e *env, o options, backend string, upPort int) (propagationRow, error) {
	row := propagationRow{backend: backend, writes: o.writes}
	dir := filepath.Join(e.dir, "prop-"+backend)
	admin, cluster := addr(freePort()), addr(freePort())
	args := []string{"local", "--data-dir", dir, "--admin-listen", admin, "--cluster-listen", cluster, "--dp=false"}
	fallback := "file://" + filepath.Join(dir, "snapshots")
	var env []string
	if backend == "aws" {
		moto, menv, err := startMoto(ctx)
		if err != nil {
			return row, err
		}
		defer moto.stop()
		env = menv
		args = append(args, "--backend", "aws", "--create", "--table", "bench", "--cluster-table", "bench-cluster",
			"--bucket", "s3://bench/cp")
		fallback = "s3://bench/cp"
	}
	cp, err := startProc("cp-"+backend, env, e.binary, args...)
	if err != nil {
		return row, err
	}
	defer cp.stop()
	if err := waitHTTP(ctx, "http://"+admin+"/", 200, nil, 60*time.Second); err != nil {
		return row, fmt.Errorf("control plane: %w\n%s", err, cp.output())
	}
	if err := postJSON("http://"+admin+"/services", map[string]any{"name": "bench", "url": fmt.Sprintf("http://127.0.0.1:%d", upPort)}); err != nil {
		return row, err
	}
	var proxies []string
	for i := range 3 {
		proxy, status := addr(freePort()), addr(freePort())
		dp, err := startProc(fmt.Sprintf("dp%d", i), env, e.binary, "dp", "--cp-url", "ws://"+cluster,
			"--fallback-url", fallback, "--verify-key", filepath.Join(dir, "publisher.pub"),
			"--cache-dir", filepath.Join(dir, fmt.Sprintf("dp%d", i)), "--node-id", fmt.Sprintf("bench-dp%d", i),
			"--proxy-listen", proxy, "--proxy-tls-listen", addr(freePort()), "--status-listen", status)
		if err != nil {
			return row, err
		}
		defer dp.stop()
		if err := waitHTTP(ctx, "http://"+status+"/status/ready", 200, nil, 60*time.Second); err != nil {
			return row, fmt.Errorf("data plane %d: %w\n%s", i, err, dp.output())
		}
		proxies = append(proxies, proxy)
	}
	var lat []time.Duration
	for i := range o.writes {
		path := fmt.Sprintf("/prop-%d", i)
		start := time.Now()
		if err := postJSON("http://"+admin+"/services/bench/routes", map[string]any{"name": fmt.Sprintf("prop-%d", i), "paths": []string{path}}); err != nil {
			return row, err
		}
		var wg sync.WaitGroup
		errs := make([]error, len(proxies))
		for j, proxy := range proxies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = waitHTTP(ctx, "http://"+proxy+path, 200, nil, 30*time.Second)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return row, err
			}
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	row.p50, row.p99, row.max = lat[len(lat)/2], lat[(len(lat)*99)/100], lat[len(lat)-1]
	return row, nil
}
