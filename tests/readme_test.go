package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// localPorts are the listen addresses of one `skyport local`.
type localPorts struct{ admin, proxy, proxyTLS, status, cluster string }

func freeLocalPorts(t testing.TB) localPorts {
	t.Helper()
	return localPorts{admin: addr(freePort(t)), proxy: addr(freePort(t)), proxyTLS: addr(freePort(t)),
		status: addr(freePort(t)), cluster: addr(freePort(t))}
}

func (p localPorts) args() []string {
	return []string{"--admin-listen", p.admin, "--proxy-listen", p.proxy, "--proxy-tls-listen", p.proxyTLS,
		"--status-listen", p.status, "--cluster-listen", p.cluster}
}

// defaultAddr matches the default addresses the README's commands use.
var defaultAddr = regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):(8000|8001|8005|8100|8443)\b`)

// rewrite points a README command at ports instead of the defaults; a
// command that names no default address is a test failure, so the test
// never reaches a gateway running on this machine.
func (p localPorts) rewrite(t *testing.T, cmd string) string {
	t.Helper()
	if !defaultAddr.MatchString(cmd) {
		t.Fatalf("README command names no default address to rewrite: %s", cmd)
	}
	to := map[string]string{"8000": p.proxy, "8001": p.admin, "8005": p.cluster, "8100": p.status, "8443": p.proxyTLS}
	return defaultAddr.ReplaceAllStringFunc(cmd, func(m string) string {
		return to[m[strings.LastIndex(m, ":")+1:]]
	})
}

// waitApplied waits until the data plane on status runs the revision the
// Admin API on admin last committed: the propagation the README's block
// relies on, waited for explicitly so its commands run once each.
func waitApplied(t *testing.T, admin, status string) int64 {
	t.Helper()
	var cp struct {
		Revision int64 `json:"revision"`
	}
	if err := json.Unmarshal(mustRequest(t, http.StatusOK, http.MethodGet, "http://"+admin+"/status", nil), &cp); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, fmt.Sprintf("the data plane runs revision %d", cp.Revision), func() error {
		if rev := int64(statusOf(t, status)["revision"].(float64)); rev < cp.Revision {
			return fmt.Errorf("at revision %d", rev)
		}
		return nil
	})
	return cp.Revision
}

// waitListed waits until the control plane lists the built-in data plane
// at revision rev (its acknowledgement arrived).
func waitListed(t *testing.T, admin string, rev int64) {
	t.Helper()
	eventually(t, 10*time.Second, "the data plane's acknowledgement", func() error {
		rows := dataPlanes(t, admin)
		if len(rows) != 1 || rows[0].Revision < rev {
			return fmt.Errorf("listed: %+v", rows)
		}
		return nil
	})
}

// TestReadmeQuickStart runs the README's curl block once, each command
// once, against `skyport local` on free ports (the commands' default
// addresses rewritten to them, the state in a temporary directory, so a
// `make run` on this machine is never touched), then checks that Ctrl-C
// stops it cleanly and that a restart resumes the state. Propagation to
// the data plane is waited for explicitly, never by retrying a command.
func TestReadmeQuickStart(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the README's commands")
	}
	ports := freeLocalPorts(t)
	var cmds []string
	for _, c := range readmeCommands(t) {
		cmds = append(cmds, ports.rewrite(t, c))
	}
	dataDir := filepath.Join(t.TempDir(), ".skyport")
	args := append([]string{"local", "--data-dir", dataDir}, ports.args()...)
	cp := start(t, "make-run", nil, args...)
	eventually(t, 30*time.Second, "the Admin API answers", func() error {
		_, _, err := request(http.MethodGet, "http://"+ports.admin+"/", nil)
		return err
	})

	run := func(cmd string) string {
		t.Helper()
		out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		return string(out)
	}
	proxied := ""
	for _, cmd := range cmds {
		switch {
		case strings.Contains(cmd, ports.proxy+"/"):
			waitApplied(t, ports.admin, ports.status)
			proxied = cmd
			run(cmd)
		case strings.Contains(cmd, "/clustering/data-planes"):
			waitListed(t, ports.admin, waitApplied(t, ports.admin, ports.status))
			var page struct {
				Data []map[string]any `json:"data"`
			}
			out := run(cmd)
			if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Data) != 1 {
				t.Fatalf("want the built-in data plane listed: %v: %s", err, out)
			}
		default:
			run(cmd)
		}
	}
	if proxied == "" {
		t.Fatal("the README block sends no request through the data plane")
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
	start(t, "make-run-again", nil, args...)
	ready(t, ports.status, 30*time.Second)
	waitApplied(t, ports.admin, ports.status)
	run(proxied)
}

// TestReadmeRewrite: every default address the README may use is
// rewritten, and a command without one is caught.
func TestReadmeRewrite(t *testing.T) {
	t.Parallel()
	p := localPorts{admin: "127.0.0.1:1", proxy: "127.0.0.1:2", proxyTLS: "127.0.0.1:3", status: "127.0.0.1:4", cluster: "127.0.0.1:5"}
	got := p.rewrite(t, "curl http://127.0.0.1:8001/x http://localhost:8000/y https://127.0.0.1:8443 http://[::1]:8100 ws://127.0.0.1:8005 http://127.0.0.1:80010")
	want := "curl http://127.0.0.1:1/x http://127.0.0.1:2/y https://127.0.0.1:3 http://127.0.0.1:4 ws://127.0.0.1:5 http://127.0.0.1:80010"
	if got != want {
		t.Fatalf("rewrite:\n got %s\nwant %s", got, want)
	}
	for _, cmd := range readmeCommands(t) {
		if out := p.rewrite(t, cmd); defaultAddr.MatchString(out) {
			t.Fatalf("a default address is left in %s", out)
		}
	}
}
