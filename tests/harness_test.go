package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/internal/freeport"
)

// binary is the skyport CLI built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "skyport-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "skyport")
	// Built as `make build` builds it (static, -trimpath), so the two
	// share the build cache, and without the race detector, whose memory
	// would hide what the memory tests measure.
	build := exec.Command("go", "build", "-trimpath", "-o", binary, "../cmd/skyport")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building skyport:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port nobody listens on.
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// process is a running skyport (or other) process whose output is kept and
// shown when the test fails.
type process struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs the skyport binary with args and extra environment; it is
// killed at the end of the test.
func start(t testing.TB, name string, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("---- %s output ----\n%s", name, tail(p.output(), 60))
		}
	})
	return p
}

// stop sends SIGTERM and waits (then kills).
func (p *process) stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill stops the process at once, as a crash would.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// eventually retries fn until it returns nil or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = fn(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// client bounds each request generously: the processes it talks to run
// with the race detector on a loaded machine.
var client = &http.Client{Timeout: 30 * time.Second}

// request makes an HTTP request and returns status and body.
func request(method, url string, body any, header ...string) (int, []byte, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
		ctype = "application/x-www-form-urlencoded"
	case []byte:
		rd = bytes.NewReader(b)
		ctype = "application/x-yaml"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
		ctype = "application/json"
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "host") {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// mustRequest is request that fails the test on transport errors and on
// an unexpected status.
func mustRequest(t testing.TB, want int, method, url string, body any, header ...string) []byte {
	t.Helper()
	code, data, err := request(method, url, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, code, want, data)
	}
	return data
}

// upstream is a real HTTP server that answers with its name and the path it
// received, so tests can see where a request went.
func upstream(t testing.TB, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"upstream": name, "path": r.URL.Path, "host": r.Host,
		})
	}))
	t.Cleanup(s.Close)
	return s
}

// served checks that a request through proxy with host reaches upstream name.
func served(proxy, host, path, name string) error {
	code, body, err := request(http.MethodGet, "http://"+proxy+path, nil, "Host", host)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("status %d: %s", code, body)
	}
	var got map[string]string
	if err := json.Unmarshal(body, &got); err != nil {
		return fmt.Errorf("decoding %s: %w", body, err)
	}
	if got["upstream"] != name {
		return fmt.Errorf("served by %q, want %q", got["upstream"], name)
	}
	return nil
}

// ready waits until a data plane's /status/ready answers 200.
func ready(t testing.TB, status string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "data plane "+status+" ready", func() error {
		code, body, err := request(http.MethodGet, "http://"+status+"/status/ready", nil)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("status %d: %s", code, body)
		}
		return nil
	})
}

// statusOf reads a data plane's /status.
func statusOf(t testing.TB, status string) map[string]any {
	t.Helper()
	var out map[string]any
	body := mustRequest(t, http.StatusOK, http.MethodGet, "http://"+status+"/status", nil)
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("decoding /status: %v: %s", err, body)
	}
	return out
}
