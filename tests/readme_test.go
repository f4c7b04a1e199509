package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeCommands returns the shell commands of README.md's tested block.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	begin := strings.Index(s, "<!-- readme-test:begin -->")
	end := strings.Index(s, "<!-- readme-test:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md has no readme-test block")
	}
	var cmds []string
	for _, line := range strings.Split(s[begin:end], "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "curl ") {
			cmds = append(cmds, line)
		}
	}
	if len(cmds) < 4 {
		t.Fatalf("README block has %d curl commands, want at least 4", len(cmds))
	}
	return cmds
}

// TestReadmeQuickStart runs the README's curl examples, unchanged, against
// `skyport local` on its default ports (what `make run` starts), then
// checks that Ctrl-C stops it cleanly and that a restart resumes the state.
func TestReadmeQuickStart(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the README's commands")
	}
	cmds := readmeCommands(t)
	dataDir := filepath.Join(t.TempDir(), ".skyport")
	cp := start(t, "make-run", nil, "local", "--data-dir", dataDir)
	eventually(t, 30*time.Second, "admin API on :8001", func() error {
		_, _, err := request("GET", "http://127.0.0.1:8001/", nil)
		return err
	})

	run := func(cmd string) (string, error) {
		out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
		return string(out), err
	}
	for _, cmd := range cmds {
		cmd := cmd
		switch {
		case strings.Contains(cmd, ":8000/"):
			// Propagation takes a moment: the proxy call is retried.
			eventually(t, 10*time.Second, cmd, func() error {
				out, err := run(cmd)
				if err != nil {
					return fmt.Errorf("%w: %s", err, out)
				}
				if !strings.Contains(out, "tagline") {
					return fmt.Errorf("unexpected body: %s", out)
				}
				return nil
			})
		case strings.Contains(cmd, "/clustering/data-planes"):
			eventually(t, 10*time.Second, cmd, func() error {
				out, err := run(cmd)
				if err != nil {
					return fmt.Errorf("%w: %s", err, out)
				}
				var page struct {
					Data []map[string]any `json:"data"`
				}
				if err := json.Unmarshal([]byte(out), &page); err != nil {
					return fmt.Errorf("%w: %s", err, out)
				}
				if len(page.Data) != 1 {
					return fmt.Errorf("want the built-in data plane listed: %s", out)
				}
				return nil
			})
		default:
			if out, err := run(cmd); err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}
		}
	}

	// Ctrl-C stops everything cleanly.
	if err := cp.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cp.done:
		if code := cp.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("skyport local exited %d after Ctrl-C", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("skyport local did not stop within 20s of Ctrl-C")
	}

	// A second start resumes with the same state.
	start(t, "make-run-again", nil, "local", "--data-dir", dataDir)
	ready(t, "127.0.0.1:8100", 30*time.Second)
	eventually(t, 10*time.Second, "route served after restart", func() error {
		out, err := run(cmds[2])
		if err != nil || !strings.Contains(out, "tagline") {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
}
