// Package redisserver starts a Redis server (Debian's redis-server) for
// tests: one process on a free loopback port, persisting nothing.
//
// When redis-server is not installed the test is skipped with a clear
// message on a developer machine, and fails when CI=true: CI must not pass
// by skipping the Redis path.
package redisserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/skyport-gw/skyport/internal/freeport"
)

// Server is a running redis-server.
type Server struct {
	Host string
	Port int
	cmd  *exec.Cmd
}

// Start runs redis-server for the duration of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server not found on PATH: Redis is required in CI")
		}
		t.Skip("redis-server not found on PATH (apt-get install redis-server): skipping a test of the redis policy")
	}
	port, err := freeport.Port()
	if err != nil {
		t.Fatalf("picking a port for redis-server: %v", err)
	}
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "",
		"--appendonly", "no", "--dir", t.TempDir(), "--maxmemory", "64mb")
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	s := &Server{Host: "127.0.0.1", Port: port, cmd: cmd}
	t.Cleanup(s.Stop)
	addr := net.JoinHostPort(s.Host, strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return fmt.Sprintf("%s:%d", s.Host, s.Port) }

// Stop kills the server now; the test's cleanup tolerates a stopped one.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	_, _ = s.cmd.Process.Wait()
}
