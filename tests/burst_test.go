package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/internal/snapshot"
)

// TestBurstConverges: two data planes end at the same, newest revision
// after a burst of 100 Admin API writes.
func TestBurstConverges(t *testing.T) {
	dir := t.TempDir()
	cp := startLocalCP(t, filepath.Join(dir, "cp"), nil)
	up := upstream(t, "a")
	mustRequest(t, http.StatusCreated, http.MethodPost, "http://"+cp.admin+"/config", kongYAML(up.URL, up.URL))
	pub := filepath.Join(cp.dataDir, "publisher.pub")
	fallback := "file://" + filepath.Join(cp.dataDir, "snapshots")
	a := startDP(t, "dp-a", "ws://"+cp.cluster, fallback, pub, filepath.Join(dir, "a"), nil)
	b := startDP(t, "dp-b", "ws://"+cp.cluster, fallback, pub, filepath.Join(dir, "b"), nil)
	ready(t, a.status, time.Minute)
	ready(t, b.status, time.Minute)

	for i := range 100 {
		mustRequest(t, http.StatusCreated, http.MethodPost, "http://"+cp.admin+"/services",
			map[string]any{"name": fmt.Sprintf("burst-%03d", i), "url": up.URL})
	}
	// The newest revision: the /config load plus the 100 writes.
	const want = 101
	eventually(t, time.Minute, "both data planes at the newest revision", func() error {
		sa, sb := statusOf(t, a.status), statusOf(t, b.status)
		ra, _ := sa["revision"].(float64)
		rb, _ := sb["revision"].(float64)
		if ra != want || rb != want || sa["configuration_hash"] != sb["configuration_hash"] {
			return fmt.Errorf("a at %v, b at %v, want both at %d", ra, rb, want)
		}
		rows := dataPlanes(t, cp.admin)
		for _, r := range rows {
			if float64(r.Revision) != ra {
				return fmt.Errorf("control plane sees %s at %d, data plane says %v", r.ID, r.Revision, ra)
			}
		}
		return nil
	})
}

// TestWrongKeyIsRejected: a data plane whose verify key is not the
// publisher's refuses every snapshot, stays unready, and the control plane
// lists it as rejected.
func TestWrongKeyIsRejected(t *testing.T) {
	dir := t.TempDir()
	cp := startLocalCP(t, filepath.Join(dir, "cp"), nil)
	up := upstream(t, "a")
	mustRequest(t, http.StatusCreated, http.MethodPost, "http://"+cp.admin+"/config", kongYAML(up.URL, up.URL))
	other, _, err := snapshot.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := snapshot.MarshalPublicKey(other)
	keyFile := filepath.Join(dir, "other.pub")
	if err := os.WriteFile(keyFile, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	dp := startDP(t, "dp-wrong-key", "ws://"+cp.cluster, "", keyFile, filepath.Join(dir, "dp"), nil)
	eventually(t, time.Minute, "rejection listed", func() error {
		for _, r := range dataPlanesRaw(t, cp.admin) {
			if r["id"] == "dp-wrong-key" && r["state"] == "rejected" && strings.Contains(fmt.Sprint(r["error"]), "signature") {
				return nil
			}
		}
		return fmt.Errorf("not listed as rejected: %v", dataPlanesRaw(t, cp.admin))
	})
	code, _, err := request(http.MethodGet, "http://"+dp.status+"/status/ready", nil)
	if err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("/status/ready = %d, %v; want 503", code, err)
	}
}
