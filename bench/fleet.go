package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/dataplane/sync/backoff"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// fleetOptions are `go run ./bench fleet`'s flags.
type fleetOptions struct {
	dps     int
	writes  int
	backend string
	labels  string
	storm   bool
	compile bool
	timeout time.Duration
	// cpuProfile, when set, is where the simulator's CPU profile of the
	// writes is written.
	cpuProfile string
}

// fleetResult is the one JSON line the fleet simulator prints.
type fleetResult struct {
	DPs     int    `json:"dps"`
	Backend string `json:"backend"`
	// Compiled is whether each data plane compiled its configurations.
	Compiled bool         `json:"compiled"`
	Writes   []fleetWrite `json:"writes"`
	// P50MS, P99MS and MaxMS summarize every write's per-DP latencies.
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	MaxMS float64 `json:"max_ms"`
	// ConnectS is how long the whole fleet took to connect and apply the
	// first revision.
	ConnectS float64 `json:"connect_s"`
	// CPPeakRSSMB and CPCPUSeconds are the control plane process's.
	CPPeakRSSMB  float64 `json:"cp_peak_rss_mb"`
	CPCPUSeconds float64 `json:"cp_cpu_s"`
	// CPCPUPerWriteS and SimCPUPerWriteS are the CPU seconds the control
	// plane and the simulator (all N DPs) spent per write while the writes
	// converged: unlike latency, they do not depend on what else the
	// machine runs.
	CPCPUPerWriteS  float64 `json:"cp_cpu_s_per_write"`
	SimCPUPerWriteS float64 `json:"sim_cpu_s_per_write"`
	// SimRSSMB is the simulator's own resident memory (all N DPs).
	SimRSSMB float64 `json:"sim_rss_mb"`
	// Upgrades are WebSocket connections accepted, Refused the upgrades
	// refused; Downloads the snapshot GETs and their bytes.
	Upgrades      int64 `json:"upgrades"`
	Refused       int64 `json:"upgrades_refused"`
	Downloads     int64 `json:"snapshot_gets"`
	DownloadBytes int64 `json:"snapshot_bytes"`
	// DPMessages is an upper bound of registry writes: one hello per
	// connection and one status per apply (heartbeats are 4 minutes
	// apart, none fall in a run).
	DPMessages int64 `json:"dp_messages"`
	// RegistryAtFinal counts /clustering/data-planes rows reporting the
	// last revision at the end.
	RegistryAtFinal int         `json:"registry_at_final"`
	DupApplies      int64       `json:"duplicate_applies"`
	Storm           *fleetStorm `json:"storm,omitempty"`
	Errors          []string    `json:"errors"`
}

// fleetWrite is one Admin API write's convergence over the fleet.
type fleetWrite struct {
	Revision  int64   `json:"revision"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
	Converged int     `json:"converged"`
}

// fleetStorm is a control plane crash and restart with the fleet connected.
type fleetStorm struct {
	// ReconnectS is from the restarted control plane's Admin API answering
	// to every DP connected again.
	ReconnectS float64 `json:"reconnect_s"`
	// PeakAcceptsPerS is the most upgrades accepted in any one second.
	PeakAcceptsPerS int64 `json:"peak_accepts_per_s"`
	// After is a write made once the fleet is back.
	After fleetWrite `json:"after"`
}

// fleetSim is the simulator's shared state.
type fleetSim struct {
	epoch      time.Time
	dps        []*simDP
	clients    []*dpsync.Client
	track      atomic.Pointer[writeTrack]
	applies    atomic.Int64
	dupApplies atomic.Int64
	accepts    rateMeter
	transport  *countingTransport
	decoder    *sharedDecoder
}

// now is the fleet clock: nanoseconds since the simulator started.
func (f *fleetSim) now() int64 { return int64(time.Since(f.epoch)) }

func runFleet(args []string) error {
	var o fleetOptions
	fs := flag.NewFlagSet("bench fleet", flag.ContinueOnError)
	fs.IntVar(&o.dps, "dps", 100, "simulated data planes")
	fs.IntVar(&o.writes, "writes", 10, "Admin API writes, each measured until every data plane applied it")
	fs.StringVar(&o.backend, "backend", "embedded", "embedded or aws (against moto_server)")
	fs.StringVar(&o.labels, "labels", "", "k:v,k:v labels every data plane reports")
	fs.BoolVar(&o.compile, "compile", false, "compile every configuration in a proxy per data plane (listeners aside), as data planes do; costs memory and CPU per data plane")
	fs.BoolVar(&o.storm, "storm", true, "kill the control plane with the fleet connected, restart it, time the reconnection")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long one write (or the reconnection) may take")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the simulator's CPU profile of the writes to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.dps < 1 || o.writes < 1 || (o.backend != "embedded" && o.backend != "aws") {
		return errors.New("want --dps ≥ 1, --writes ≥ 1, --backend embedded|aws")
	}
	dir, err := os.MkdirTemp("", "skyport-fleet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e := &env{dir: dir, binary: filepath.Join(dir, "skyport")}
	if err := buildSkyport(e); err != nil {
		return err
	}
	res, err := fleet(context.Background(), e, o)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// fleet runs one simulation and returns its measurements.
func fleet(ctx context.Context, e *env, o fleetOptions) (*fleetResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cp, err := startFleetCP(ctx, e, o.backend, o.dps)
	if err != nil {
		return nil, err
	}
	defer cp.stop()
	res := &fleetResult{DPs: o.dps, Backend: o.backend, Compiled: o.compile, Errors: []string{}}
	if _, err := adminWrite(cp.admin, "/services", map[string]any{"name": "fleet", "url": "http://127.0.0.1:9"}); err != nil {
		return nil, err
	}
	key, err := snapshot.LoadPublicKey(filepath.Join(cp.dir, "publisher.pub"))
	if err != nil {
		return nil, err
	}
	f := &fleetSim{epoch: time.Now(), decoder: newSharedDecoder()}
	base := http.DefaultTransport.(*http.Transport).Clone()
	// Each data plane keeps its own connection to the cluster listener
	// between downloads, as data planes on their own hosts do; a smaller
	// pool redials most of the fleet at every write.
	base.MaxIdleConns, base.MaxIdleConnsPerHost = o.dps, o.dps
	f.transport = &countingTransport{base: base, fleet: f}
	client := &http.Client{Transport: f.transport, Timeout: time.Minute}
	labels := parseFleetLabels(o.labels)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	first := newWriteTrack(o.dps, f.now())
	first.rev = 1
	f.track.Store(first)
	start := time.Now()
	for i := range o.dps {
		d := &simDP{idx: i, fleet: f}
		if o.compile {
			d.proxy = proxy.New(proxy.Options{Version: "3.9.3", RetireTimeout: time.Second})
		}
		c, err := dpsync.New(dpsync.Config{
			CPURL: "ws://" + cp.cluster, VerifyKey: key, NodeID: fmt.Sprintf("fleet-%05d", i),
			Hostname: "fleet", Version: "3.9.3", Labels: labels, HTTPClient: client, Log: log,
			Backoff: backoff.Default, Decoder: f.decoder,
		}, d)
		if err != nil {
			return nil, err
		}
		f.dps = append(f.dps, d)
		f.clients = append(f.clients, c)
		go c.Run(ctx)
	}
	if !waitTrack(ctx, first, o.timeout) {
		res.Errors = append(res.Errors, fmt.Sprintf("only %d of %d data planes connected and applied within %s", first.done.Load(), o.dps, o.timeout))
	}
	res.ConnectS = time.Since(start).Seconds()
	var all []time.Duration
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return nil, err
	}
	cp0, sim0 := cpuTicks(cp.p.cmd.Process.Pid), cpuTicks(os.Getpid())
	for i := range o.writes {
		w, lat, err := measureWrite(ctx, f, cp.admin, fmt.Sprintf("fleet-%d", i), o.timeout)
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			break
		}
		res.Writes = append(res.Writes, w)
		all = append(all, lat...)
	}
	if n := float64(len(res.Writes)); n > 0 {
		res.CPCPUPerWriteS = float64(cpuTicks(cp.p.cmd.Process.Pid)-cp0) / 100 / n
		res.SimCPUPerWriteS = float64(cpuTicks(os.Getpid())-sim0) / 100 / n
	}
	stopProfile()
	sortDurations(all)
	res.P50MS, res.P99MS, res.MaxMS = pct(all, 50), pct(all, 99), pct(all, 100)
	if o.storm {
		st, err := storm(ctx, f, cp, o)
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
		res.Storm = st
	}
	final := int64(0)
	if n := len(res.Writes); n > 0 {
		final = res.Writes[n-1].Revision
	}
	if res.Storm != nil && res.Storm.After.Revision > 0 {
		final = res.Storm.After.Revision
	}
	// Let the last status messages land before reading the registry.
	time.Sleep(2 * time.Second)
	if n, err := registryAt(cp.admin, final); err != nil {
		res.Errors = append(res.Errors, err.Error())
	} else {
		res.RegistryAtFinal = n
	}
	res.CPPeakRSSMB = float64(cp.peakKB.Load()) / 1024
	res.CPCPUSeconds = cp.cpuSeconds()
	res.SimRSSMB = float64(procField(os.Getpid(), "VmHWM:")) / 1024
	res.Upgrades, res.Refused = f.transport.upgrades.Load(), f.transport.refused.Load()
	res.Downloads, res.DownloadBytes = f.transport.downloads.Load(), f.transport.bytes.Load()
	res.DPMessages = res.Upgrades + f.applies.Load()
	res.DupApplies = f.dupApplies.Load()
	cancel()
	return res, nil
}

// measureWrite makes one write and waits until every data plane applied
// its revision (or timeout).
func measureWrite(ctx context.Context, f *fleetSim, admin, name string, timeout time.Duration) (fleetWrite, []time.Duration, error) {
	t := newWriteTrack(len(f.dps), f.now())
	rev, err := adminWrite(admin, "/services/fleet/routes", map[string]any{"name": name, "paths": []string{"/" + name}})
	if err != nil {
		return fleetWrite{}, nil, err
	}
	t.rev = rev
	f.track.Store(t)
	// Data planes that applied before the track was in place.
	for i, d := range f.dps {
		if d.rev.Load() >= rev {
			t.record(i, d.appliedAt.Load())
		}
	}
	ok := waitTrack(ctx, t, timeout)
	w := fleetWrite{Revision: rev, Converged: int(t.done.Load())}
	var lat []time.Duration
	for i := range t.at {
		if v := t.at[i].Load(); v > 0 {
			lat = append(lat, time.Duration(v))
		}
	}
	sortDurations(lat)
	w.P50MS, w.P99MS, w.MaxMS = pct(lat, 50), pct(lat, 99), pct(lat, 100)
	if !ok {
		return w, lat, fmt.Errorf("revision %d: %d of %d data planes applied it within %s", rev, w.Converged, len(f.dps), timeout)
	}
	return w, lat, nil
}

// storm kills the control plane with the fleet connected, restarts it and
// times the reconnection, then measures one more write.
func storm(ctx context.Context, f *fleetSim, cp *fleetCP, o fleetOptions) (*fleetStorm, error) {
	cp.kill()
	deadline := time.Now().Add(o.timeout)
	for connectedCount(f) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if err := cp.start(ctx, o.dps); err != nil {
		return nil, err
	}
	up := time.Now()
	f.accepts.reset(up)
	deadline = up.Add(o.timeout)
	for connectedCount(f) < len(f.dps) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	st := &fleetStorm{ReconnectS: time.Since(up).Seconds(), PeakAcceptsPerS: f.accepts.peak()}
	if n := connectedCount(f); n < len(f.dps) {
		return st, fmt.Errorf("storm: %d of %d data planes reconnected within %s", n, len(f.dps), o.timeout)
	}
	w, _, err := measureWrite(ctx, f, cp.admin, "fleet-after-storm", o.timeout)
	st.After = w
	return st, err
}

// startCPUProfile profiles this process into path until the returned
// function is called; nothing when path is empty.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func connectedCount(f *fleetSim) int {
	n := 0
	for _, c := range f.clients {
		if c.SyncState().CP == "connected" {
			n++
		}
	}
	return n
}

func waitTrack(ctx context.Context, t *writeTrack, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.all:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	return false
}

// adminWrite POSTs body and returns the revision the write committed.
func adminWrite(admin, path string, body any) (int64, error) {
	raw, _ := json.Marshal(body)
	resp, err := http.Post("http://"+admin+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	rev, err := strconv.ParseInt(resp.Header.Get("X-Skyport-Revision"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("POST %s: no revision header", path)
	}
	return rev, nil
}

// registryAt pages /clustering/data-planes and counts the rows at rev.
func registryAt(admin string, rev int64) (int, error) {
	n := 0
	next := "/clustering/data-planes?size=1000"
	for next != "" {
		resp, err := http.Get("http://" + admin + next)
		if err != nil {
			return n, err
		}
		var page struct {
			Data []struct {
				Revision int64 `json:"revision"`
			} `json:"data"`
			Next *string `json:"next"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return n, fmt.Errorf("reading /clustering/data-planes: %w", err)
		}
		for _, r := range page.Data {
			if r.Revision == rev {
				n++
			}
		}
		next = ""
		if page.Next != nil {
			next = *page.Next
		}
	}
	return n, nil
}

func parseFleetLabels(s string) map[string]string {
	if s == "" {
		return nil
	}
	m := map[string]string{}
	for _, kv := range splitComma(s) {
		k, v, _ := strings.Cut(kv, ":")
		m[k] = v
	}
	return m
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

// pct is the p-th percentile of sorted d, in milliseconds.
func pct(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	i := min(max((len(d)*p+99)/100-1, 0), len(d)-1)
	return float64(d[i].Microseconds()) / 1000
}
