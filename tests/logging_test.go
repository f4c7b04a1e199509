package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// collector keeps the bodies an HTTP receiver got; blocked, it holds
// every request until the test ends.
type collector struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newCollector(t *testing.T, blocked bool) *collector {
	t.Helper()
	c := &collector{}
	release := make(chan struct{})
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if blocked {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
	}))
	t.Cleanup(func() {
		close(release)
		c.Close()
	})
	return c
}

func (c *collector) received() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.bodies...)
}

// TestLoggingPluginsThroughTheDataPlane runs a real "skyport dp" whose
// kong.yml has http-log on one route, http-log to a log server that never
// answers (a queue of one entry) on another, and opentelemetry globally:
// the records and the spans arrive, the stuck queue drops entries while
// requests keep being answered, and /metrics counts both.
func TestLoggingPluginsThroughTheDataPlane(t *testing.T) {
	up := upstream(t, "up")
	logs, stuck, otel := newCollector(t, false), newCollector(t, true), newCollector(t, false)
	dir := t.TempDir()
	kongYML := filepath.Join(dir, "kong.yml")
	yml := fmt.Sprintf(`_format_version: "3.0"
services:
  - name: s
    url: %s
    routes:
      - name: logged
        paths: [/logged]
        plugins:
          - name: http-log
            config:
              http_endpoint: %s/logs
              queue: {max_batch_size: 2, max_coalescing_delay: 0.05}
      - name: stuck
        paths: [/stuck]
        plugins:
          - name: http-log
            config:
              http_endpoint: %s/logs
              timeout: 60000
              queue: {max_entries: 1}
plugins:
  - name: opentelemetry
    config:
      traces_endpoint: %s/v1/traces
      queue: {max_coalescing_delay: 0.05}
`, up.URL, logs.URL, stuck.URL, otel.URL)
	if err := os.WriteFile(kongYML, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	proxyAddr, statusAddr := addr(freePort(t)), addr(freePort(t))
	start(t, "dp", nil, "dp", "--declarative-config", kongYML, "--cache-dir", filepath.Join(dir, "cache"),
		"--proxy-listen", proxyAddr, "--proxy-tls-listen", "", "--status-listen", statusAddr, "--access-log=off")
	ready(t, statusAddr, time.Minute)

	for _, path := range []string{"/logged/a", "/logged/b", "/stuck/1", "/stuck/2", "/stuck/3", "/stuck/4"} {
		code, body, err := request(http.MethodGet, "http://"+proxyAddr+path, nil)
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET %s: %d %s %v", path, code, body, err)
		}
	}
	eventually(t, 30*time.Second, "the http-log batch", func() error {
		for _, b := range logs.received() {
			var batch []map[string]any
			if err := json.Unmarshal(b, &batch); err != nil {
				return fmt.Errorf("decoding %s: %w", b, err)
			}
			if len(batch) == 2 && batch[0]["route"].(map[string]any)["name"] == "logged" {
				return nil
			}
		}
		return fmt.Errorf("got %d bodies", len(logs.received()))
	})
	eventually(t, 30*time.Second, "the spans", func() error {
		if len(otel.received()) == 0 {
			return fmt.Errorf("no export yet")
		}
		return nil
	})
	eventually(t, 30*time.Second, "the counters on /metrics", func() error {
		_, body, err := request(http.MethodGet, "http://"+statusAddr+"/metrics", nil)
		if err != nil {
			return err
		}
		for _, want := range []struct {
			metric string
			min    float64
		}{
			{`skyport_log_entries_sent_total{plugin="http-log"}`, 2},
			{`skyport_log_entries_sent_total{plugin="opentelemetry"}`, 1},
			{`skyport_log_entries_dropped_total{plugin="http-log"}`, 1},
		} {
			m := regexp.MustCompile(regexp.QuoteMeta(want.metric) + ` (\S+)`).FindStringSubmatch(string(body))
			if m == nil {
				return fmt.Errorf("%s missing", want.metric)
			}
			if v, _ := strconv.ParseFloat(m[1], 64); v < want.min {
				return fmt.Errorf("%s = %v, want ≥ %v", want.metric, v, want.min)
			}
		}
		return nil
	})
}
