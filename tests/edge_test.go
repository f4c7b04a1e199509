package tests

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHeaderAttackMemory runs the header attack against a real "skyport
// dp": 400 connections each sending 1 MB of a request head that never
// ends, then 400 holding a head just under the limit. The data plane
// refuses the first at the header block (nginx's 4 × 8k) and holds at most
// a block for the others, so its peak resident memory (VmHWM) stays far
// under an ECS task's 1 GB. Before the limit it reached 970 MB.
func TestHeaderAttackMemory(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the data plane's resident memory")
	}
	up := upstream(t, "up")
	dir := t.TempDir()
	kongYML := filepath.Join(dir, "kong.yml")
	if err := os.WriteFile(kongYML, []byte(fmt.Sprintf("_format_version: \"3.0\"\nservices:\n  - name: s\n    url: %s\n    routes:\n      - name: r\n        paths: [/]\n", up.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	proxyAddr, statusAddr := addr(freePort(t)), addr(freePort(t))
	dp := start(t, "dp", nil, "dp", "--declarative-config", kongYML, "--cache-dir", filepath.Join(dir, "cache"),
		"--proxy-listen", proxyAddr, "--proxy-tls-listen", "", "--status-listen", statusAddr,
		"--access-log=off", "--keepalive-timeout", "300ms")
	ready(t, statusAddr, time.Minute)

	t.Run("idle connections closed after --keepalive-timeout", func(t *testing.T) {
		conn, err := net.Dial("tcp", proxyAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		rd := bufio.NewReader(conn)
		res, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		_, err = io.Copy(io.Discard, rd)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("an idle connection was kept open")
		}
	})

	const conns = 400
	line := "X-Pad: " + strings.Repeat("p", 1000) + "\r\n"
	head := func(size int) []byte {
		return []byte("GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat(line, size/len(line)))
	}
	t.Run("1 MB heads refused at the block", func(t *testing.T) {
		payload := head(1 << 20)
		var wg sync.WaitGroup
		statuses := make([]int, conns)
		for i := range conns {
			wg.Go(func() {
				c, err := net.Dial("tcp", proxyAddr)
				if err != nil {
					return
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(60 * time.Second))
				_, _ = c.Write(payload) // cut short when the data plane closes
				if res, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
					statuses[i] = res.StatusCode
				}
			})
		}
		wg.Wait()
		refused := 0
		for _, s := range statuses {
			if s >= 400 && s < 500 {
				refused++
			}
		}
		// A client may see the reset before the answer; most see the 431.
		if refused < conns/2 {
			t.Fatalf("%d of %d connections answered 4xx: %v", refused, conns, statuses[:10])
		}
	})
	t.Run("heads held under the block", func(t *testing.T) {
		payload := head(28 << 10)
		held := make([]net.Conn, 0, conns)
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for range conns {
			c, err := net.Dial("tcp", proxyAddr)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
			if _, err := c.Write(payload); err != nil {
				t.Fatal(err)
			}
		}
		// The data plane still serves others meanwhile.
		if err := served(proxyAddr, "x", "/", "up"); err != nil {
			t.Fatal(err)
		}
	})
	peak := procStatusKB(t, dp.cmd.Process.Pid, "VmHWM")
	t.Logf("peak resident memory of skyport dp under the header attack: %d MB", peak>>10)
	if peak > 200<<10 {
		t.Fatalf("peak resident memory %d MB, want under 200 MB", peak>>10)
	}
}

// procStatusKB reads a kB field of /proc/<pid>/status.
func procStatusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
