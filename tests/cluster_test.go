package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// controlPlane is a `skyport local --dp=false` and its addresses.
type controlPlane struct {
	proc    *process
	admin   string // host:port
	cluster string
	dataDir string
}

func startLocalCP(t testing.TB, dataDir string, env []string, extra ...string) *controlPlane {
	t.Helper()
	return startLocalCPAt(t, dataDir, addr(freePort(t)), addr(freePort(t)), env, extra...)
}

// startLocalCPAt starts the control plane on given addresses (to restart
// one where data planes expect it).
func startLocalCPAt(t testing.TB, dataDir, admin, cluster string, env []string, extra ...string) *controlPlane {
	t.Helper()
	cp := &controlPlane{admin: admin, cluster: cluster, dataDir: dataDir}
	args := append([]string{"local", "--data-dir", dataDir, "--admin-listen", cp.admin,
		"--cluster-listen", cp.cluster, "--dp=false"}, extra...)
	cp.proc = start(t, "cp", env, args...)
	// Three minutes: with --create on the AWS emulator the tables and
	// the bucket are made first, slowly on a loaded machine.
	eventually(t, 3*time.Minute, "admin API up", func() error {
		_, _, err := request(http.MethodGet, "http://"+cp.admin+"/", nil)
		return err
	})
	return cp
}

// dataPlane is a `skyport dp` and its addresses.
type dataPlane struct {
	proc   *process
	proxy  string
	tls    string
	status string
	cache  string
	name   string
}

// startDP joins a data plane to cp (cpURL may be a dead address), with the
// given fallback URL and verify key.
func startDP(t testing.TB, name, cpURL, fallback, verifyKey, cache string, env []string) *dataPlane {
	t.Helper()
	dp := &dataPlane{proxy: addr(freePort(t)), tls: addr(freePort(t)), status: addr(freePort(t)), cache: cache, name: name}
	args := []string{"dp", "--node-id", name,
		"--proxy-listen", dp.proxy, "--proxy-tls-listen", dp.tls, "--status-listen", dp.status,
		"--cache-dir", cache, "--verify-key", verifyKey, "--fallback-poll", "1s"}
	if cpURL != "" {
		args = append(args, "--cp-url", cpURL)
	}
	if fallback != "" {
		args = append(args, "--fallback-url", fallback)
	}
	dp.proc = start(t, name, env, args...)
	return dp
}

func kongYAML(upA, upB string) []byte {
	return []byte(fmt.Sprintf(`_format_version: "3.0"
services:
- name: alpha
  url: %s
  routes:
  - name: alpha-route
    hosts: [alpha.test]
    paths: [/]
- name: beta
  url: %s
  routes:
  - name: beta-route
    hosts: [beta.test]
    paths: [/v1]
`, upA, upB))
}

type dpRow struct {
	ID         string `json:"id"`
	Revision   int64  `json:"revision"`
	SyncStatus string `json:"sync_status"`
	ConfigHash string `json:"config_hash"`
}

func dataPlanes(t testing.TB, admin string) []dpRow {
	t.Helper()
	var page struct {
		Data []dpRow `json:"data"`
	}
	body := mustRequest(t, http.StatusOK, http.MethodGet, "http://"+admin+"/clustering/data-planes", nil)
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("decoding data planes: %v: %s", err, body)
	}
	return page.Data
}

// TestThreeDataPlanesServeAndConverge: a kong.yml posted to /config is
// served by three data planes; a route change reaches all three; the
// control plane lists them at the same revision with sync_status normal.
func TestThreeDataPlanesServeAndConverge(t *testing.T) {
	dir := t.TempDir()
	cp := startLocalCP(t, filepath.Join(dir, "cp"), nil)
	upA, upB, upC := upstream(t, "a"), upstream(t, "b"), upstream(t, "c")
	mustRequest(t, http.StatusCreated, http.MethodPost, "http://"+cp.admin+"/config", kongYAML(upA.URL, upB.URL))

	pub := filepath.Join(cp.dataDir, "publisher.pub")
	fallback := "file://" + filepath.Join(cp.dataDir, "snapshots")
	var dps []*dataPlane
	for i := range 3 {
		name := fmt.Sprintf("dp-%d", i)
		dps = append(dps, startDP(t, name, "ws://"+cp.cluster, fallback, pub, filepath.Join(dir, name), nil))
	}
	for _, dp := range dps {
		ready(t, dp.status, time.Minute)
		eventually(t, time.Minute, dp.name+" serves alpha", func() error { return served(dp.proxy, "alpha.test", "/x", "a") })
		eventually(t, time.Minute, dp.name+" serves beta", func() error { return served(dp.proxy, "beta.test", "/v1/y", "b") })
	}

	// Change a route: beta now goes to upstream c.
	mustRequest(t, http.StatusOK, http.MethodPatch, "http://"+cp.admin+"/services/beta",
		map[string]any{"url": upC.URL})
	for _, dp := range dps {
		eventually(t, time.Minute, dp.name+" follows the change", func() error {
			return served(dp.proxy, "beta.test", "/v1/y", "c")
		})
	}

	eventually(t, time.Minute, "three data planes listed at one revision", func() error {
		rows := dataPlanes(t, cp.admin)
		if len(rows) != 3 {
			return fmt.Errorf("%d data planes listed: %+v", len(rows), rows)
		}
		for _, r := range rows {
			if r.Revision != rows[0].Revision || r.SyncStatus != "normal" || r.ConfigHash != rows[0].ConfigHash {
				return fmt.Errorf("not converged: %+v", rows)
			}
		}
		return nil
	})
}

func dataPlanesRaw(t testing.TB, admin string) []map[string]any {
	t.Helper()
	var page struct {
		Data []map[string]any `json:"data"`
	}
	body := mustRequest(t, http.StatusOK, http.MethodGet, "http://"+admin+"/clustering/data-planes", nil)
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("decoding data planes: %v: %s", err, body)
	}
	return page.Data
}
