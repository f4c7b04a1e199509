package tests

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/internal/motoserver"
)

// load sends requests to a data plane until stopped and counts failures.
type load struct {
	ok, failed atomic.Int64
	lastErr    atomic.Value
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startLoad(proxy, host, path, name string, workers int) *load {
	l := &load{stop: make(chan struct{})}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if err := served(proxy, host, path, name); err != nil {
					l.failed.Add(1)
					l.lastErr.Store(err.Error())
				} else {
					l.ok.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *load) finish(t testing.TB) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed under load; last: %v", n, n+l.ok.Load(), l.lastErr.Load())
	}
	if l.ok.Load() == 0 {
		t.Error("no request succeeded under load")
	}
	t.Logf("load: %d requests, %d failed", l.ok.Load()+l.failed.Load(), l.failed.Load())
}

// TestControlPlaneOutageAWS runs the control plane on the AWS path
// (DynamoDB + its stream + S3 on the emulator) with three data planes, then:
// kills the control plane under load (zero failures), boots a brand-new
// data plane from the S3 fallback while it is down, brings it back and sees
// every data plane catch up, and finally restarts a data plane with both the
// control plane and the fallback gone, serving from its cache.
func TestControlPlaneOutageAWS(t *testing.T) {
	moto := motoserver.Start(t)
	env := moto.Env()
	dir := t.TempDir()
	cpArgs := []string{"--backend", "aws", "--table", "skyport-e2e", "--cluster-table", "skyport-e2e-cluster",
		"--bucket", "s3://skyport-e2e/cp"}
	cp := startLocalCP(t, filepath.Join(dir, "cp"), env, append(cpArgs, "--create")...)
	upA, upB, upC := upstream(t, "a"), upstream(t, "b"), upstream(t, "c")
	mustRequest(t, http.StatusCreated, http.MethodPost, "http://"+cp.admin+"/config", kongYAML(upA.URL, upB.URL))

	pub := filepath.Join(cp.dataDir, "publisher.pub")
	fallback := "s3://skyport-e2e/cp"
	cpURL := "ws://" + cp.cluster
	var dps []*dataPlane
	for i := range 3 {
		name := fmt.Sprintf("dp-%d", i)
		dps = append(dps, startDP(t, name, cpURL, fallback, pub, filepath.Join(dir, name), env))
	}
	for _, dp := range dps {
		ready(t, dp.status, time.Minute)
		eventually(t, time.Minute, dp.name+" serves", func() error { return served(dp.proxy, "alpha.test", "/", "a") })
	}

	// The control plane dies under load.
	l := startLoad(dps[0].proxy, "alpha.test", "/", "a", 4)
	time.Sleep(500 * time.Millisecond)
	cp.proc.kill()
	time.Sleep(2 * time.Second)

	// A brand-new data plane boots from the fallback while the CP is down.
	fresh := startDP(t, "dp-new", cpURL, fallback, pub, filepath.Join(dir, "dp-new"), env)
	ready(t, fresh.status, time.Minute)
	eventually(t, time.Minute, "new data plane serves from the fallback", func() error {
		return served(fresh.proxy, "beta.test", "/v1/z", "b")
	})

	// The control plane returns (same table, bucket and key); a change
	// reaches every data plane.
	cp2 := startLocalCPAt(t, cp.dataDir, cp.admin, cp.cluster, env, cpArgs...)
	mustRequest(t, http.StatusOK, http.MethodPatch, "http://"+cp.admin+"/services/beta", map[string]any{"url": upC.URL})
	for _, dp := range append(dps, fresh) {
		eventually(t, 40*time.Second, dp.name+" catches up", func() error { return served(dp.proxy, "beta.test", "/v1/z", "c") })
	}
	l.finish(t)

	// Control plane and fallback both gone: a restarted data plane serves
	// from its cache.
	cp2.proc.kill()
	moto.Stop()
	dps[1].proc.stop(t)
	again := startDP(t, "dp-1-again", cpURL, fallback, pub, dps[1].cache, env)
	ready(t, again.status, time.Minute)
	eventually(t, time.Minute, "restarted data plane serves from cache", func() error {
		return served(again.proxy, "beta.test", "/v1/z", "c")
	})
}
