package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// fleetSizes are the fleets `make bench` simulates; larger ones run on
// demand (`go run ./bench fleet --dps 10000`).
var fleetSizes = []int{100, 1000, 2000}

func benchFleet(ctx context.Context, e *env, o options, r *report) error {
	for _, n := range fleetSizes {
		res, err := fleet(ctx, e, fleetOptions{dps: n, writes: 10, backend: "embedded", storm: true, timeout: 2 * time.Minute})
		if err != nil {
			return fmt.Errorf("%d data planes: %w", n, err)
		}
		r.fleet = append(r.fleet, res)
		fmt.Fprintf(os.Stderr, "  %d data planes: p50 %.0f ms p99 %.0f ms, control plane %.0f MB\n", n, res.P50MS, res.P99MS, res.CPPeakRSSMB)
	}
	return nil
}

// runFleetReport prints the fleet section for the JSON lines `bench fleet`
// printed, one file each, so runs made on demand (N = 10,000) join the
// table.
func runFleetReport(files []string) error {
	var rs []*fleetResult
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r fleetResult
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		rs = append(rs, &r)
	}
	fmt.Print(fleetMarkdown(rs))
	return nil
}

// fleetMarkdown renders fleet results as BENCHMARKS.md's fleet section.
func fleetMarkdown(rs []*fleetResult) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## Fleet\n\n")
	w("`go run ./bench fleet --dps N --writes 10` (and `make bench` for N ≤ 2,000): `skyport local --dp=false` and N simulated data planes in one process, ")
	w("each the real `dataplane/sync` client (hello, status, verified fetch of the presigned snapshot or delta, each on its own kept-alive connection) with an applier that records the revision (with `--compile`, \"compiled\" below, it first compiles each configuration in a proxy per data plane, listeners aside, as data planes do). ")
	w("Each simulated data plane verifies the bytes it fetched (size, SHA-256, Ed25519 signature) and checks the document's revision and identity against its own pointer, but the decoded document, and a delta's result from the same base, are shared among them by verified digest (`bench/fleetopen.go`): the JSON decoding and the delta apply are paid once per write, not N times, since N real data planes pay them on their own CPUs. ")
	w("CPU per write is the control plane's and the simulator's CPU seconds while the writes converged, divided by the writes: unlike latency it does not depend on what else the machine runs. ")
	w("Latency is from the Admin API write to each data plane's apply of its `X-Skyport-Revision`, over every write and data plane. ")
	w("The storm kills the control plane (SIGKILL) with the fleet connected and restarts it: the time from its Admin API answering to every data plane connected again, and the most upgrades accepted in any one second, as the data planes saw the answers (the hub admits at most 500 a second).\n\n")
	w("| backend | DPs | p50 | p99 | max | CP peak RSS | CP CPU per write | simulator CPU per write | simulator RSS | snapshot GETs | DP messages | reconnect | peak accepts/s | after the storm p99 | errors |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rs {
		recon, peak, after := "—", "—", "—"
		if r.Storm != nil {
			recon = fmt.Sprintf("%.1f s", r.Storm.ReconnectS)
			peak = fmt.Sprint(r.Storm.PeakAcceptsPerS)
			after = fmt.Sprintf("%.0f ms", r.Storm.After.P99MS)
		}
		errs := "none"
		if len(r.Errors) > 0 {
			errs = strings.Join(r.Errors, "; ")
		}
		backend := r.Backend
		if r.Compiled {
			backend += ", compiled"
		}
		w("| %s | %d | %.0f ms | %.0f ms | %.0f ms | %.0f MB | %.2f s | %.2f s | %.0f MB | %d | %d | %s | %s | %s | %s |\n",
			backend, r.DPs, r.P50MS, r.P99MS, r.MaxMS, r.CPPeakRSSMB, r.CPCPUPerWriteS, r.SimCPUPerWriteS, r.SimRSSMB, r.Downloads, r.DPMessages,
			recon, peak, after, errs)
	}
	return b.String()
}
