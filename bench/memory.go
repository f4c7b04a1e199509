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
	// rssErr: a reading of the resident memory failed; the row says so
	// instead of a figure.
	rssErr error
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
		row := memoryRow{routes: n}
		row.idleKB, row.rssErr = p.rssKB()
		var peak atomic.Int64
		var sampleErr atomic.Pointer[error]
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					v, err := p.rssKB()
					if err != nil {
						sampleErr.CompareAndSwap(nil, &err)
						continue
					}
					if v > peak.Load() {
						peak.Store(v)
					}
				}
			}
		}()
		_, err = runWrk("http://"+proxy+"/", o.conns, o.threads, o.duration, map[string]string{"Host": benchHost(n)})
		close(stop)
		<-sampled
		p.stop()
		if err != nil {
			return err
		}
		row.loadKB = peak.Load()
		if e := sampleErr.Load(); e != nil && row.rssErr == nil {
			row.rssErr = *e
		}
		r.memory = append(r.memory, row)
		if row.rssErr != nil {
			fmt.Fprintf(os.Stderr, "  %d routes: resident memory not read: %v\n", n, row.rssErr)
		} else {
			fmt.Fprintf(os.Stderr, "  %d routes: idle %d MB, under load %d MB\n", n, row.idleKB/1024, row.loadKB/1024)
		}
	}
	return nil
}
