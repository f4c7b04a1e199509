package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// memoryRow is a data plane's resident memory at one route count.
type memoryRow struct {
	routes         int
	idleKB, loadKB int64
}

func benchMemory(ctx context.Context, e *env, o options, r *report) error {
	upPort := freePort()
	up, err := startUpstream(e.dir, upPort)
	if err != nil {
		return err
	}
	defer up.stop()
	for _, n := range []int{1000, 10000} {
		p, proxy, _, err := startSkyportDP(ctx, e, fmt.Sprintf("mem-%d", n), kongYAML(upPort, n, false))
		if err != nil {
			return err
		}
		time.Sleep(2 * time.Second)
		row := memoryRow{routes: n, idleKB: p.rssKB()}
		var peak atomic.Int64
		stop := make(chan struct{})
		go func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if v := p.rssKB(); v > peak.Load() {
						peak.Store(v)
					}
				}
			}
		}()
		_, err = runWrk("http://"+proxy+"/", o.conns, o.threads, o.duration, map[string]string{"Host": benchHost(n)})
		close(stop)
		p.stop()
		if err != nil {
			return err
		}
		row.loadKB = peak.Load()
		r.memory = append(r.memory, row)
		fmt.Fprintf(os.Stderr, "  %d routes: idle %d MB, under load %d MB\n", n, row.idleKB/1024, row.loadKB/1024)
	}
	return nil
}
