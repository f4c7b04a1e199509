package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWritesReachDataPlaneAsDeltas: a data plane with only --cp-url runs
// the configuration posted to /config from its full snapshot, then
// follows a chain of writes by the deltas the publisher offers, fetched
// through presigned URLs: each write is served, /status says the
// configuration came from a delta, /metrics counts them, and the control
// plane lists the data plane at its revision with the same hash.
func TestWritesReachDataPlaneAsDeltas(t *testing.T) {
	dir := t.TempDir()
	cp := startLocalCP(t, filepath.Join(dir, "cp"), nil)
	upA, upB, upC := upstream(t, "a"), upstream(t, "b"), upstream(t, "c")
	mustRequest(t, http.StatusCreated, http.MethodPost, "http://"+cp.admin+"/config", kongYAML(upA.URL, upB.URL))

	pub := filepath.Join(cp.dataDir, "publisher.pub")
	dp := startDP(t, "dp-delta", "ws://"+cp.cluster, "", pub, filepath.Join(dir, "dp"), nil)
	ready(t, dp.status, time.Minute)
	eventually(t, time.Minute, "alpha served", func() error { return served(dp.proxy, "alpha.test", "/x", "a") })
	eventually(t, time.Minute, "beta served", func() error { return served(dp.proxy, "beta.test", "/v1/y", "b") })

	// Three writes, each waited for: beta to c, back to b, then a new route.
	steps := []struct {
		method, path string
		body         map[string]any
		host, req    string
		want         string
	}{
		{http.MethodPatch, "/services/beta", map[string]any{"url": upC.URL}, "beta.test", "/v1/y", "c"},
		{http.MethodPatch, "/services/beta", map[string]any{"url": upB.URL}, "beta.test", "/v1/y", "b"},
		{http.MethodPost, "/services/alpha/routes", map[string]any{"name": "gamma", "hosts": []string{"gamma.test"}}, "gamma.test", "/", "a"},
	}
	for i, s := range steps {
		want := http.StatusOK
		if s.method == http.MethodPost {
			want = http.StatusCreated
		}
		mustRequest(t, want, s.method, "http://"+cp.admin+s.path, s.body)
		eventually(t, time.Minute, fmt.Sprintf("write %d served", i+1), func() error {
			return served(dp.proxy, s.host, s.req, s.want)
		})
		eventually(t, time.Minute, fmt.Sprintf("write %d came as a delta", i+1), func() error {
			sync, _ := statusOf(t, dp.status)["sync"].(map[string]any)
			if sync["source"] != "delta" {
				return fmt.Errorf("source %v, not delta: %v", sync["source"], sync)
			}
			return nil
		})
	}

	eventually(t, time.Minute, "deltas counted on /metrics", func() error {
		_, body, err := request(http.MethodGet, "http://"+dp.status+"/metrics", nil)
		if err != nil {
			return err
		}
		if !strings.Contains(string(body), `skyport_sync_deltas_total{outcome="applied"} 3`) {
			return fmt.Errorf("no three deltas applied in:\n%s", grepLines(string(body), "skyport_sync_deltas"))
		}
		if !strings.Contains(string(body), `skyport_sync_deltas_total{outcome="fallback"} 0`) {
			return fmt.Errorf("a delta was not applied:\n%s", grepLines(string(body), "skyport_sync_deltas"))
		}
		return nil
	})
	eventually(t, time.Minute, "the data plane listed at the latest revision", func() error {
		rows := dataPlanes(t, cp.admin)
		st := statusOf(t, dp.status)
		if len(rows) != 1 || rows[0].ConfigHash != st["configuration_hash"] || rows[0].SyncStatus != "normal" {
			return fmt.Errorf("not converged: %+v, data plane at %v", rows, st["configuration_hash"])
		}
		return nil
	})
	deltas, err := filepath.Glob(filepath.Join(cp.dataDir, "snapshots", "deltas", "*", "*", "*.json.gz"))
	if err != nil || len(deltas) < 3 {
		entries, _ := os.ReadDir(filepath.Join(cp.dataDir, "snapshots"))
		t.Fatalf("%d deltas stored (%v); snapshots dir: %v", len(deltas), err, entries)
	}
}

// grepLines returns the lines of s holding sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
