package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"github.com/skyport-gw/skyport/dataplane/proxy"
)

// floorProfiled are the rows the profile pass runs in a layout and
// scheme: the h1 floor that serves as Skyport's default does there and
// Skyport's default row, the two Go proxies whose difference is
// Skyport's own cost.
func floorProfiled(scheme string) []string {
	return []string{skyportFloor(scheme), floorSkyport}
}

// skyportFloor is the h1 floor row whose connection model Skyport's
// default row has over scheme: the floor on event loops where the plain
// listener is served on them by default (TLS never is), else the floor
// on goroutines.
func skyportFloor(scheme string) string {
	if scheme == "http" && proxy.DefaultEventLoop && runtime.GOOS == "linux" {
		return floorH1Loop
	}
	return floorH1
}

// floorProfile is one profile pass: a Go proxy under the floor's load
// with a CPU profile taken while wrk runs.
type floorProfile struct {
	layout, scheme, proxy string
	// cpuUS is the pass's CPU per request (/proc over the wrk run), which
	// the buckets' shares divide.
	cpuUS    float64
	requests int64
	// seconds is the profile's length.
	seconds int
	// coverage is the profile's CPU time over the process's /proc CPU
	// time while the profile ran (0 when not read): how much of it the
	// profiler's signals saw.
	coverage float64
	summary  profileSummary
	// err is why the pass has no profile; the report says so in its row.
	err error
}

// bucketUS is a bucket's CPU per request: its share of the profile
// times the pass's CPU per request.
func (f floorProfile) bucketUS(name string) float64 {
	return f.summary.share(f.summary.bucket(name).flat) * f.cpuUS
}

// floorProfileSeconds is the profile's length: the floor's -duration,
// at least 3 s (about 300 samples of one busy core at pprof's 100 Hz).
func floorProfileSeconds(d time.Duration) int {
	return max(int(d.Round(time.Second)/time.Second), 3)
}

// floorProfileLead is how long wrk runs before the profile starts (its
// connections opened, the proxy warm) and after it ends.
const floorProfileLead = 500 * time.Millisecond

// floorProfileWrk is wrk's -d in seconds for a profile of secs.
func floorProfileWrk(secs int) int {
	return secs + int(2*floorProfileLead/time.Second)
}

// floorProfileRounds runs measure once for every profiled row of every
// layout and scheme, each a profile of secs seconds. A pass that fails is
// kept with its error, for the report to state: the profile pass never
// ends the run.
func floorProfileRounds(secs int, measure func(layout, scheme, proxy string) (floorProfile, error)) []floorProfile {
	var out []floorProfile
	for _, layout := range floorLayouts {
		for _, scheme := range floorSchemes {
			for _, proxy := range floorProfiled(scheme) {
				f, err := measure(layout, scheme, proxy)
				f.layout, f.scheme, f.proxy, f.seconds, f.err = layout, scheme, proxy, secs, err
				if err != nil {
					fmt.Fprintf(os.Stderr, "  profile %-8s %-5s %-8s failed: %v\n", layout, scheme, proxy, err)
				} else {
					fmt.Fprintf(os.Stderr, "  profile %-8s %-5s %-8s %6.2f µs/req  %d samples\n", layout, scheme, proxy, f.cpuUS, f.summary.samples)
				}
				out = append(out, f)
			}
		}
	}
	return out
}

// profileFloor starts one of the Go proxies with its profiles served on
// a port of their own, loads it with wrk -t1 as a measured pass does and
// takes a CPU profile of secs seconds from /debug/pprof/profile while
// wrk runs (floorProfileLead before and after it). The pass's CPU per
// request is its /proc CPU time over the wrk run.
func profileFloor(ctx context.Context, e *env, o options, self, cert, key string, upPort int, pinned bool,
	scheme, proxy string, secs int) (floorProfile, error) {
	port, pprofPort := freePort(), freePort()
	p, headers, err := startFloorProxy(e, self, cert, key, port, upPort, pinned, scheme, proxy, addr(pprofPort))
	if err != nil {
		return floorProfile{}, err
	}
	defer p.stop()
	url := scheme + "://" + addr(port) + "/"
	if err := waitFloor(ctx, url, headers); err != nil {
		return floorProfile{}, fmt.Errorf("%w\n%s", err, p.output())
	}
	bin, args := floorPin(pinned, "0", append(append([]string{"wrk", "-t1", "-c", strconv.Itoa(o.conns),
		"-d", strconv.Itoa(floorProfileWrk(secs)) + "s", "--latency"}, wrkHeaders(headers)...), url)...)
	before, err := groupCPU(p.cmd.Process.Pid)
	if err != nil {
		return floorProfile{}, err
	}
	var out bytes.Buffer
	wrk := exec.CommandContext(ctx, bin, args...)
	wrk.Stdout, wrk.Stderr = &out, &out
	if err := wrk.Start(); err != nil {
		return floorProfile{}, fmt.Errorf("starting wrk: %w", err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(floorProfileLead):
	}
	client := &http.Client{Timeout: time.Duration(secs)*time.Second + 30*time.Second}
	profStart, err1 := groupCPU(p.cmd.Process.Pid)
	prof, perr := fetchProfile(ctx, client, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr(pprofPort), secs), maxProfileBytes)
	profEnd, err2 := groupCPU(p.cmd.Process.Pid)
	if err := wrk.Wait(); err != nil {
		return floorProfile{}, fmt.Errorf("wrk: %w: %s", err, out.Bytes())
	}
	after, err := groupCPU(p.cmd.Process.Pid)
	if err != nil {
		return floorProfile{}, err
	}
	res, err := parseWrk(out.String())
	if err != nil {
		return floorProfile{}, err
	}
	f := floorProfile{requests: res.Requests}
	if res.Requests > 0 {
		f.cpuUS = float64(after-before) * 1e6 / float64(clockTicks) / float64(res.Requests)
	}
	if perr != nil {
		return f, perr
	}
	f.summary = summarize(prof)
	if err1 == nil && err2 == nil && profEnd > profStart {
		f.coverage = float64(f.summary.total) / (float64(profEnd-profStart) * 1e9 / clockTicks)
	}
	return f, nil
}
