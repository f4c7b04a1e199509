package tests

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/internal/declarative"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// fallbackDir is a directory with the bucket's layout that a test
// publishes into by hand, good or forged.
type fallbackDir struct {
	t    *testing.T
	objs *objstore.Dir
	key  ed25519.PrivateKey
}

// publish seals cfg at rev with key, lets tamper change the stored bytes
// or the pointer, and writes both.
func (f *fallbackDir) publish(rev int64, cfg *model.Config, key ed25519.PrivateKey, format string,
	tamper func(data []byte, p *snapshot.Pointer) []byte) {
	f.t.Helper()
	doc := &snapshot.Document{Revision: rev, Format: format, Config: *cfg.Clone()}
	data, ptr, err := snapshot.Seal(doc, key, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	if tamper != nil {
		data = tamper(data, &ptr)
	}
	ctx := context.Background()
	if _, err := f.objs.Put(ctx, ptr.Key, data, objstore.Condition{}); err != nil {
		f.t.Fatal(err)
	}
	raw, _ := json.Marshal(ptr)
	if _, err := f.objs.Put(ctx, snapshot.LatestKey, raw, objstore.Condition{}); err != nil {
		f.t.Fatal(err)
	}
}

type syncStatus struct {
	Revision float64 `json:"revision"`
	Sync     struct {
		Source           string  `json:"source"`
		LastError        string  `json:"last_error"`
		RejectedRevision float64 `json:"rejected_revision"`
		Cache            string  `json:"cache"`
		CacheError       string  `json:"cache_error"`
	} `json:"sync"`
}

func syncOf(t *testing.T, status string) syncStatus {
	t.Helper()
	var s syncStatus
	body := mustRequest(t, http.StatusOK, http.MethodGet, "http://"+status+"/status", nil)
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("decoding /status: %v: %s", err, body)
	}
	return s
}

// TestTamperedSnapshotsAreRefused runs a data plane on a fallback only
// (no control plane) and publishes, one after the other, a snapshot with a
// bad signature, one with a bad digest, one of an unknown format and one
// older than the running revision: each is refused with its reason, and
// the data plane keeps serving the configuration it had. Then a cache file
// truncated as by a crash mid-write is detected and ignored at boot.
func TestTamperedSnapshotsAreRefused(t *testing.T) {
	dir := t.TempDir()
	pub, priv, err := snapshot.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := snapshot.GenerateKey()
	pem, _ := snapshot.MarshalPublicKey(pub)
	keyFile := filepath.Join(dir, "publisher.pub")
	if err := os.WriteFile(keyFile, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := objstore.NewDir(filepath.Join(dir, "fallback"))
	if err != nil {
		t.Fatal(err)
	}
	fb := &fallbackDir{t: t, objs: objs, key: priv}
	upA, upB := upstream(t, "a"), upstream(t, "b")
	good, err := declarative.Parse(kongYAML(upA.URL, upA.URL))
	if err != nil {
		t.Fatal(err)
	}
	changed, err := declarative.Parse(kongYAML(upB.URL, upB.URL))
	if err != nil {
		t.Fatal(err)
	}

	fb.publish(5, good, priv, "", nil)
	cache := filepath.Join(dir, "cache")
	dp := startDP(t, "dp-tamper", "", "file://"+objs.Root(), keyFile, cache, nil)
	ready(t, dp.status, time.Minute)
	eventually(t, time.Minute, "serves revision 5", func() error { return served(dp.proxy, "alpha.test", "/", "a") })

	tests := []struct {
		desc   string
		rev    int64
		key    ed25519.PrivateKey
		format string
		tamper func([]byte, *snapshot.Pointer) []byte
		reason string
	}{
		{desc: "bad signature", rev: 6, key: other, reason: "signature"},
		{desc: "bad digest", rev: 7, key: priv, reason: "digest", tamper: func(d []byte, _ *snapshot.Pointer) []byte {
			d = append([]byte(nil), d...)
			d[len(d)/2] ^= 0xff
			return d
		}},
		{desc: "unknown format", rev: 8, key: priv, format: "9.0", reason: "format"},
	}
	for _, tc := range tests {
		fb.publish(tc.rev, changed, tc.key, tc.format, tc.tamper)
		eventually(t, 15*time.Second, tc.desc+" refused", func() error {
			s := syncOf(t, dp.status)
			if int64(s.Sync.RejectedRevision) != tc.rev || !strings.Contains(s.Sync.LastError, tc.reason) {
				return fmt.Errorf("sync state %+v", s.Sync)
			}
			return nil
		})
		if s := syncOf(t, dp.status); s.Revision != 5 {
			t.Fatalf("%s: running revision %v, want 5", tc.desc, s.Revision)
		}
		if err := served(dp.proxy, "alpha.test", "/", "a"); err != nil {
			t.Fatalf("%s: previous configuration no longer served: %v", tc.desc, err)
		}
	}

	// An older, validly signed revision is not applied either.
	fb.publish(4, changed, priv, "", nil)
	time.Sleep(3 * time.Second) // three fallback polls
	if s := syncOf(t, dp.status); s.Revision != 5 {
		t.Fatalf("older revision applied: running %v", s.Revision)
	}
	if err := served(dp.proxy, "alpha.test", "/", "a"); err != nil {
		t.Fatalf("older revision changed what is served: %v", err)
	}

	// A cache damaged on disk (truncated) is detected and refused at boot,
	// and reported lost, so the data plane waits for a configuration from
	// elsewhere.
	dp.proc.stop(t)
	snap := filepath.Join(cache, "lkg.snapshot")
	info, err := os.Stat(snap)
	if err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	if err := os.Truncate(snap, info.Size()/2); err != nil {
		t.Fatal(err)
	}
	empty, err := objstore.NewDir(filepath.Join(dir, "empty"))
	if err != nil {
		t.Fatal(err)
	}
	again := startDP(t, "dp-truncated-cache", "", "file://"+empty.Root(), keyFile, cache, nil)
	eventually(t, 20*time.Second, "status API up", func() error {
		_, _, err := request(http.MethodGet, "http://"+again.status+"/status", nil)
		return err
	})
	time.Sleep(2 * time.Second)
	if code, body, _ := request(http.MethodGet, "http://"+again.status+"/status/ready", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("booted from a truncated cache: /status/ready %d %s", code, body)
	}
	if s := syncOf(t, again.status); s.Sync.Cache != "lost" || !strings.Contains(s.Sync.CacheError, "size") {
		t.Fatalf("a truncated cache is not reported lost in /status: %+v", s.Sync)
	}
	// A valid snapshot in the fallback then brings it up.
	(&fallbackDir{t: t, objs: empty, key: priv}).publish(9, changed, priv, "", nil)
	ready(t, again.status, time.Minute)
	eventually(t, time.Minute, "serves the fallback's revision", func() error { return served(again.proxy, "alpha.test", "/", "b") })
}
