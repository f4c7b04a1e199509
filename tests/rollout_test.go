package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startWaveDP starts a data plane labelled ring:<ring> that reports its
// traffic every second after an apply, with env added to its environment.
func startWaveDP(t testing.TB, name, ring, cpURL, fallback, verifyKey, cache string, env ...string) *dataPlane {
	t.Helper()
	dp := &dataPlane{proxy: addr(freePort(t)), tls: addr(freePort(t)), status: addr(freePort(t)), cache: cache, name: name}
	args := []string{"dp", "--node-id", name, "--labels", "ring:" + ring, "--report-interval", "1s",
		"--proxy-listen", dp.proxy, "--proxy-tls-listen", dp.tls, "--status-listen", dp.status,
		"--cache-dir", cache, "--verify-key", verifyKey, "--fallback-poll", "1s", "--fallback-url", fallback}
	if cpURL != "" {
		args = append(args, "--cp-url", cpURL)
	}
	dp.proc = start(t, name, env, args...)
	return dp
}

// failing is an upstream that answers every request 500.
func failing(t testing.TB) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	t.Cleanup(s.Close)
	return s
}

// runningRevision reads a data plane's revision from /status.
func runningRevision(t testing.TB, status string) int64 {
	t.Helper()
	rev, _ := statusOf(t, status)["revision"].(float64)
	return int64(rev)
}

type rolloutRow struct {
	Revision   int64  `json:"revision"`
	State      string `json:"state"`
	HaltReason string `json:"halt_reason"`
	Rollback   bool   `json:"rollback"`
	Waves      []struct {
		Selector   string `json:"selector"`
		State      string `json:"state"`
		ReleasedAt int64  `json:"released_at"`
		Acked      int    `json:"acked"`
	} `json:"waves"`
}

func rolloutOf(t testing.TB, admin string, rev int64) (rolloutRow, error) {
	t.Helper()
	var page struct {
		Data []rolloutRow `json:"data"`
	}
	body := mustRequest(t, http.StatusOK, http.MethodGet, "http://"+admin+"/config/rollouts", nil)
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("decoding rollouts: %v: %s", err, body)
	}
	for _, r := range page.Data {
		if r.Revision == rev {
			return r, nil
		}
	}
	return rolloutRow{}, fmt.Errorf("no rollout of revision %d: %s", rev, body)
}

func revisionOf(t testing.TB, admin, method, path string, body any, want int) int64 {
	t.Helper()
	code, data, err := request(method, "http://"+admin+path, body)
	if err != nil || code != want {
		t.Fatalf("%s %s: %d %v: %s", method, path, code, err, data)
	}
	return cpRevision(t, admin)
}

// cpRevision reads the control plane's latest revision from /status.
func cpRevision(t testing.TB, admin string) int64 {
	t.Helper()
	code, data, err := request(http.MethodGet, "http://"+admin+"/status", nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /status: %d %v", code, err)
	}
	var st struct {
		Revision int64 `json:"revision"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("decoding /status: %v: %s", err, data)
	}
	return st.Revision
}

// rolloutSecretEnv is the environment variable only the main data plane
// of TestStagedRollout has.
const rolloutSecretEnv = "SKYPORT_ROLLOUT_TEST_SECRET"

// TestStagedRollout is the staged rollout with real processes: a control
// plane, a canary and a main data plane, the policy [canary bake 5 s,
// main]. A write reaches canary at once and main only after the bake; a
// revision that makes canary's upstream answer 5xx never reaches main,
// canary returns to the last good configuration and the rollout shows
// halted with the reason; a revision canary rejects (a vault reference to
// an environment variable only main has) never reaches main, the rollout
// shows halted as rejected and both run the rollback; a rollback through
// the API reaches both; a main data plane booting from the fallback with
// the control plane down comes up on main's revision, not canary's.
func TestStagedRollout(t *testing.T) {
	dir := t.TempDir()
	cp := startLocalCP(t, filepath.Join(dir, "cp"), nil)
	admin := "http://" + cp.admin
	upA, upB, upC, bad := upstream(t, "a"), upstream(t, "b"), upstream(t, "c"), failing(t)
	mustRequest(t, http.StatusCreated, http.MethodPost, admin+"/config", kongYAML(upA.URL, upA.URL))
	mustRequest(t, http.StatusOK, http.MethodPut, admin+"/config/rollout-policy", map[string]any{
		"waves":   []map[string]any{{"selector": "ring:canary", "bake_seconds": 5}, {"selector": "*", "bake_seconds": 0}},
		"halt_on": map[string]any{"rejected": true, "error_ratio_5xx": 0.5, "min_ack_share": 1, "ack_timeout_seconds": 120},
	})
	pub := filepath.Join(cp.dataDir, "publisher.pub")
	fallback := "file://" + filepath.Join(cp.dataDir, "snapshots")
	canary := startWaveDP(t, "canary", "canary", "ws://"+cp.cluster, fallback, pub, filepath.Join(dir, "canary"))
	main := startWaveDP(t, "main", "main", "ws://"+cp.cluster, fallback, pub, filepath.Join(dir, "main"),
		rolloutSecretEnv+"=main's secret")
	for _, dp := range []*dataPlane{canary, main} {
		eventually(t, time.Minute, dp.name+" serves a", func() error { return served(dp.proxy, "alpha.test", "/", "a") })
	}
	eventually(t, time.Minute, "labels listed", func() error {
		for _, row := range dataPlanesRaw(t, cp.admin) {
			labels, _ := row["labels"].(map[string]any)
			if labels["ring"] != row["id"] {
				return fmt.Errorf("labels of %v: %v", row["id"], labels)
			}
		}
		return nil
	})

	// A good write: canary at once, main after the bake.
	good := revisionOf(t, cp.admin, http.MethodPatch, "/services/alpha", map[string]any{"url": upB.URL}, http.StatusOK)
	eventually(t, time.Minute, "canary serves b", func() error { return served(canary.proxy, "alpha.test", "/", "b") })
	if got := runningRevision(t, main.status); got >= good {
		t.Fatalf("main runs revision %d before canary's bake", got)
	}
	eventually(t, 2*time.Minute, "main serves b after the bake", func() error { return served(main.proxy, "alpha.test", "/", "b") })
	eventually(t, 2*time.Minute, "rollout completed", func() error {
		r, err := rolloutOf(t, cp.admin, good)
		if err != nil {
			return err
		}
		if r.State != "completed" {
			return fmt.Errorf("rollout %+v", r)
		}
		if d := r.Waves[1].ReleasedAt - r.Waves[0].ReleasedAt; d < 5 {
			return fmt.Errorf("main released %d s after canary, before the 5 s bake", d)
		}
		return nil
	})

	// A bad write: canary's upstream answers 500.
	badRev := revisionOf(t, cp.admin, http.MethodPatch, "/services/alpha", map[string]any{"url": bad.URL}, http.StatusOK)
	eventually(t, time.Minute, "canary runs the bad revision", func() error {
		if got := runningRevision(t, canary.status); got < badRev {
			return fmt.Errorf("canary runs %d", got)
		}
		return nil
	})
	for range 20 {
		_, _, _ = request(http.MethodGet, "http://"+canary.proxy+"/", nil, "Host", "alpha.test")
	}
	eventually(t, time.Minute, "the rollout halts", func() error {
		r, err := rolloutOf(t, cp.admin, badRev)
		if err != nil {
			return err
		}
		if r.State != "halted" {
			return fmt.Errorf("rollout %+v", r)
		}
		if !strings.Contains(r.HaltReason, "5xx ratio") {
			return fmt.Errorf("halt reason %q", r.HaltReason)
		}
		return nil
	})
	eventually(t, time.Minute, "canary back on b", func() error { return served(canary.proxy, "alpha.test", "/", "b") })
	if err := served(main.proxy, "alpha.test", "/", "b"); err != nil {
		t.Fatalf("main left the last good configuration: %v", err)
	}
	if !strings.Contains(cp.proc.output(), "rollout halted") {
		t.Fatalf("no halt logged")
	}
	var svc map[string]any
	_ = json.Unmarshal(mustRequest(t, http.StatusOK, http.MethodGet, admin+"/services/alpha", nil), &svc)
	if !strings.HasPrefix(upB.URL, fmt.Sprintf("http://%v:%v", svc["host"], svc["port"])) {
		t.Fatalf("the store was not rolled back: %v", svc)
	}

	// A revision canary rejects: valid on the control plane, but its
	// plugin reads a secret from an environment variable canary lacks.
	// Main, which has it, would answer 503 with the secret.
	code, data, err := request(http.MethodPost, admin+"/plugins", map[string]any{
		"name": "request-termination", "service": map[string]any{"id": svc["id"]},
		"config": map[string]any{"status_code": 503, "message": "{vault://env/" + rolloutSecretEnv + "}"},
	})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("POST /plugins: %d %v: %s", code, err, data)
	}
	var plugin struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(data, &plugin)
	rejRev := cpRevision(t, cp.admin)
	mainOnGood := func() error {
		if got := runningRevision(t, main.status); got == rejRev {
			return fmt.Errorf("main runs the rejected revision %d", got)
		}
		return served(main.proxy, "alpha.test", "/", "b")
	}
	eventually(t, time.Minute, "canary rejects it", func() error {
		if err := mainOnGood(); err != nil {
			t.Fatal(err)
		}
		sync, _ := statusOf(t, canary.status)["sync"].(map[string]any)
		if rej, _ := sync["rejected_revision"].(float64); int64(rej) != rejRev {
			return fmt.Errorf("canary's sync state %v", sync)
		}
		if msg, _ := sync["last_error"].(string); !strings.Contains(msg, rolloutSecretEnv) {
			return fmt.Errorf("canary's error %q does not name the variable", msg)
		}
		return nil
	})
	eventually(t, time.Minute, "the rollout halts as rejected", func() error {
		if err := mainOnGood(); err != nil {
			t.Fatal(err)
		}
		r, err := rolloutOf(t, cp.admin, rejRev)
		if err != nil {
			return err
		}
		if r.State != "halted" || !strings.Contains(r.HaltReason, "rejected") {
			return fmt.Errorf("rollout %+v", r)
		}
		return nil
	})
	var rollbackRev int64
	eventually(t, time.Minute, "the plugin is rolled back", func() error {
		code, _, err := request(http.MethodGet, admin+"/plugins/"+plugin.ID, nil)
		if err != nil {
			return err
		}
		if code != http.StatusNotFound {
			return fmt.Errorf("GET /plugins/%s: %d", plugin.ID, code)
		}
		rollbackRev = cpRevision(t, cp.admin)
		return nil
	})
	for _, dp := range []*dataPlane{canary, main} {
		eventually(t, time.Minute, dp.name+" runs the rollback", func() error {
			if got := runningRevision(t, dp.status); got < rollbackRev {
				return fmt.Errorf("%s runs %d, want %d", dp.name, got, rollbackRev)
			}
			return served(dp.proxy, "alpha.test", "/", "b")
		})
	}

	// A rollback through the API, to the first configuration.
	mustRequest(t, http.StatusCreated, http.MethodPost, admin+"/config/revisions/1/rollback", nil)
	for _, dp := range []*dataPlane{canary, main} {
		eventually(t, 2*time.Minute, dp.name+" serves a again", func() error { return served(dp.proxy, "alpha.test", "/", "a") })
	}

	// Canary runs a revision main does not have yet; the control plane
	// goes down; a new main data plane boots from the fallback.
	mustRequest(t, http.StatusOK, http.MethodPut, admin+"/config/rollout-policy", map[string]any{
		"waves":   []map[string]any{{"selector": "ring:canary", "bake_seconds": 3600}, {"selector": "*", "bake_seconds": 0}},
		"halt_on": map[string]any{"rejected": true},
	})
	mainRev := runningRevision(t, main.status)
	canaryRev := revisionOf(t, cp.admin, http.MethodPatch, "/services/alpha", map[string]any{"url": upC.URL}, http.StatusOK)
	eventually(t, time.Minute, "canary serves c", func() error { return served(canary.proxy, "alpha.test", "/", "c") })
	cp.proc.kill()
	main2 := startWaveDP(t, "main-2", "main", "ws://"+cp.cluster, fallback, pub, filepath.Join(dir, "main-2"))
	ready(t, main2.status, time.Minute)
	if got := runningRevision(t, main2.status); got != mainRev {
		t.Fatalf("main-2 booted on revision %d, want main's %d (canary's is %d)", got, mainRev, canaryRev)
	}
	if err := served(main2.proxy, "alpha.test", "/", "a"); err != nil {
		t.Fatalf("main-2: %v", err)
	}
	canary2 := startWaveDP(t, "canary-2", "canary", "", fallback, pub, filepath.Join(dir, "canary-2"))
	eventually(t, time.Minute, "canary-2 boots on canary's revision", func() error { return served(canary2.proxy, "alpha.test", "/", "c") })
}
