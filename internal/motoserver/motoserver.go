// Package motoserver starts the AWS emulator (moto_server) for tests: one
// process on a free loopback port, with an aws.Config pointed at it.
//
// When moto_server is not installed the test is skipped with a clear
// message on a developer machine, and fails when CI=true: CI must not pass
// by skipping the AWS path.
package motoserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/skyport-gw/skyport/internal/freeport"
)

// Region is the region tests use.
const Region = "us-east-1"

// startTimeout bounds the wait for a moto_server that neither answers nor
// exits.
const startTimeout = 3 * time.Minute

// Server is a running moto_server.
type Server struct {
	// Endpoint is http://127.0.0.1:<port>.
	Endpoint string
	cmd      *exec.Cmd
}

// Start runs moto_server for the duration of the test (or benchmark).
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("moto_server not found on PATH: the AWS emulator is required in CI")
		}
		t.Skip("moto_server not found on PATH: skipping a test of the AWS path")
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=true")
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting moto_server: %v", err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	exited := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	// Python takes its time to import moto on a loaded machine: wait for
	// the server to answer or the process to end, whichever comes first;
	// the bound only catches a server that hangs without ever answering.
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := http.Get(s.Endpoint + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("moto_server exited before answering on %s: %v", s.Endpoint, werr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s within %s: %v", s.Endpoint, startTimeout, err)
		}
	}
	return s
}

// Config returns an AWS configuration that talks to the emulator with
// static test credentials.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(s.Endpoint),
	}
}

// Env returns the environment variables that point a child process (the
// skyport binary) at the emulator.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.Endpoint,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
	}
}

// SerialEnv is Env with the endpoint of a proxy the test runs, which
// forwards requests to the emulator one at a time, as SerialConfig's
// client sends them: a child process (the skyport binary) makes
// concurrent requests from its Admin API, publisher, stream poller and
// import runner, and without it a stream or a read could see a
// transaction the emulator has applied in part, where AWS makes each
// request atomic; the more loaded the machine, the more such requests
// interleave. The proxy stops at the end of the test.
func (s *Server) SerialEnv(t testing.TB) []string {
	t.Helper()
	target, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatalf("parsing the emulator's endpoint: %v", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &serialTransport{next: http.DefaultTransport}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	env := s.Env()
	for i, kv := range env {
		if strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") {
			env[i] = "AWS_ENDPOINT_URL=" + srv.URL
		}
	}
	return env
}

// Reset clears the emulator's state.
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("resetting moto_server: %w", err)
	}
	resp.Body.Close()
	return nil
}

func freePort() (int, error) {
	p, err := freeport.Port()
	if err != nil {
		return 0, fmt.Errorf("picking a port for the emulator: %w", err)
	}
	return p, nil
}

// Stop kills the emulator now (its state is lost), to simulate AWS being
// unreachable; the test's cleanup tolerates an already stopped server.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	_, _ = s.cmd.Process.Wait()
}

// SerialConfig is Config with an HTTP client that sends one request at a
// time. The emulator's conditional writes (TransactWriteItems, S3
// If-Match) are not isolated from concurrent requests: it applies a
// transaction item by item and checks a condition and writes in separate
// steps, so concurrent requests can see or undo each other's writes, where
// AWS makes each request atomic. Serializing requests keeps the
// interleaving of a test's operations (reads, conditional writes,
// retries) while making each request atomic, as it is on AWS.
func (s *Server) SerialConfig() aws.Config {
	cfg := s.Config()
	cfg.HTTPClient = &http.Client{Transport: &serialTransport{next: http.DefaultTransport}}
	return cfg
}

type serialTransport struct {
	mu   sync.Mutex
	next http.RoundTripper
}

func (t *serialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
