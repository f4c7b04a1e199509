package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// fleetCP is the control plane under test: `skyport local --dp=false`
// with either backend, restartable on the same addresses and state.
type fleetCP struct {
	e       *env
	backend string
	dir     string
	admin   string
	cluster string
	env     []string
	moto    *proc
	p       *proc
	// peakKB and cpuTicks accumulate over every incarnation.
	peakKB   atomic.Int64
	cpuTicks atomic.Int64
	stopMon  chan struct{}
}

func startFleetCP(ctx context.Context, e *env, backend string, nodes int) (*fleetCP, error) {
	cp := &fleetCP{e: e, backend: backend, dir: filepath.Join(e.dir, fmt.Sprintf("fleet-%s-%d", backend, nodes)),
		admin: addr(freePort()), cluster: addr(freePort())}
	if backend == "aws" {
		moto, menv, err := startMoto(ctx)
		if err != nil {
			return nil, err
		}
		cp.moto, cp.env = moto, menv
	}
	if err := cp.start(ctx, nodes); err != nil {
		cp.stop()
		return nil, err
	}
	return cp, nil
}

func (cp *fleetCP) args(nodes int) []string {
	args := []string{"local", "--data-dir", cp.dir, "--admin-listen", cp.admin, "--cluster-listen", cp.cluster,
		"--dp=false", "--log-level", "warn", "--cluster-max-nodes", strconv.Itoa(2 * nodes)}
	if cp.backend == "aws" {
		args = append(args, "--backend", "aws", "--create", "--table", "fleet", "--cluster-table", "fleet-cluster",
			"--bucket", "s3://fleet/cp")
	}
	return args
}

// start runs the control plane and waits for its Admin API.
func (cp *fleetCP) start(ctx context.Context, nodes int) error {
	p, err := startProc("cp-"+cp.backend, cp.env, cp.e.binary, cp.args(nodes)...)
	if err != nil {
		return err
	}
	cp.p = p
	cp.stopMon = make(chan struct{})
	go cp.monitor(p, cp.stopMon)
	if err := waitHTTP(ctx, "http://"+cp.admin+"/", 200, nil, 90*time.Second); err != nil {
		return fmt.Errorf("control plane: %w\n%s", err, p.output())
	}
	return nil
}

// monitor samples the process's peak RSS and CPU time until stop.
func (cp *fleetCP) monitor(p *proc, stop chan struct{}) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var ticks int64
	for {
		if kb := procField(p.cmd.Process.Pid, "VmHWM:"); kb > cp.peakKB.Load() {
			cp.peakKB.Store(kb)
		}
		if n := cpuTicks(p.cmd.Process.Pid); n > ticks {
			cp.cpuTicks.Add(n - ticks)
			ticks = n
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// kill ends the control plane at once (SIGKILL), as a crash does.
func (cp *fleetCP) kill() {
	if cp.p == nil {
		return
	}
	close(cp.stopMon)
	_ = syscall.Kill(-cp.p.cmd.Process.Pid, syscall.SIGKILL)
	_ = cp.p.cmd.Wait()
	cp.p = nil
}

func (cp *fleetCP) stop() {
	if cp.p != nil {
		close(cp.stopMon)
		cp.p.stop()
		cp.p = nil
	}
	cp.moto.stop()
}

func (cp *fleetCP) cpuSeconds() float64 { return float64(cp.cpuTicks.Load()) / 100 }

// procField reads a kB figure of /proc/<pid>/status.
func procField(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			if f := strings.Fields(line); len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}

// cpuTicks is the process's user and system time in clock ticks (1/100 s
// on Linux).
func cpuTicks(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	// After the command: state is field 3 of stat, utime 14, stime 15.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}
