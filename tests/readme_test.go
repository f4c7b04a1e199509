package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock returns the shell text of README.md's tested block.
func readmeBlock(t *testing.T) string {
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
	block := s[begin:end]
	open := strings.Index(block, "```sh\n")
	closing := strings.LastIndex(block, "```")
	if open < 0 || closing <= open {
		t.Fatal("the readme-test block has no sh code block")
	}
	return block[open+len("```sh\n") : closing]
}

// readmeCommands returns the block's commands, continuation lines
// joined, comments left out.
func readmeCommands(t *testing.T, block string) []string {
	t.Helper()
	var cmds []string
	cur := ""
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if cur == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if more, ok := strings.CutSuffix(line, "\\"); ok {
			cur += strings.TrimSpace(more) + " "
			continue
		}
		cmds = append(cmds, cur+line)
		cur = ""
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

// The default ports the README's commands use: Kong's, one family
// from the proxy's (written as sums so no test file spells them).
const (
	kongProxyPort    = 8 * 1000
	kongAdminPort    = kongProxyPort + 1
	kongClusterPort  = kongProxyPort + 5
	kongStatusPort   = kongProxyPort + 100
	kongProxyTLSPort = kongProxyPort + 443
)

// defaultAddr matches the default addresses the README's commands use.
var defaultAddr = regexp.MustCompile(fmt.Sprintf(`(127\.0\.0\.1|localhost|\[::1\]):(%d|%d|%d|%d|%d)\b`,
	kongProxyPort, kongAdminPort, kongClusterPort, kongStatusPort, kongProxyTLSPort))

// rewrite points the README's block at ports instead of the defaults.
// Every command that reaches a gateway (curl, skyport) must name an
// address, rewritten here, so the test never reaches one running on this
// machine: a command that names none is a test failure.
func (p localPorts) rewrite(t *testing.T, block string) string {
	t.Helper()
	for _, cmd := range readmeCommands(t, block) {
		reaches := strings.Contains(cmd, "curl ") || strings.Contains(cmd, "skyport ")
		if reaches && !defaultAddr.MatchString(cmd) {
			t.Fatalf("README command names no default address to rewrite: %s", cmd)
		}
	}
	to := map[string]string{strconv.Itoa(kongProxyPort): p.proxy, strconv.Itoa(kongAdminPort): p.admin,
		strconv.Itoa(kongClusterPort): p.cluster, strconv.Itoa(kongStatusPort): p.status, strconv.Itoa(kongProxyTLSPort): p.proxyTLS}
	return defaultAddr.ReplaceAllStringFunc(block, func(m string) string {
		return to[m[strings.LastIndex(m, ":")+1:]]
	})
}

// waitApplied waits until the data plane on status runs the revision the
// Admin API on admin last committed.
func waitApplied(t *testing.T, admin, status string) {
	t.Helper()
	var cp struct {
		Revision int64 `json:"revision"`
	}
	if err := json.Unmarshal(mustRequest(t, http.StatusOK, http.MethodGet, "http://"+admin+"/status", nil), &cp); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, fmt.Sprintf("the data plane runs revision %d", cp.Revision), func() error {
		code, body, err := request(http.MethodGet, fmt.Sprintf("http://%s/status/ready?revision=%d", status, cp.Revision), nil)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("status %d: %s", code, body)
		}
		return err
	})
}

// TestReadmeQuickStart does what the README says: it starts `skyport
// local` (on free ports, its state in a temporary directory, so a `make
// run` on this machine is never touched), waits for its banner as a user
// does, and runs the README's block once, as one shell script, verbatim
// but for the ports, from a directory with bin/skyport: the block itself
// waits for the data plane, with nothing around it retried or waited
// for. Then Ctrl-C stops it cleanly and a restart resumes the state.
func TestReadmeQuickStart(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the README's commands")
	}
	block := readmeBlock(t)
	if n := len(readmeCommands(t, block)); n < 5 {
		t.Fatalf("README block has %d commands, want at least 5", n)
	}
	ports := freeLocalPorts(t)
	script := ports.rewrite(t, block)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(binary, filepath.Join(dir, "bin", "skyport")); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, ".skyport")
	args := append([]string{"local", "--data-dir", dataDir}, ports.args()...)
	cp := start(t, "make-run", nil, args...)
	eventually(t, 60*time.Second, "the banner", func() error {
		if !strings.Contains(cp.output(), "Skyport is running") {
			return errors.New("not printed yet")
		}
		return nil
	})

	sh := exec.Command("sh", "-e", "-c", script)
	sh.Dir = dir
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the README block failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"message":"Hello from Skyport"`) {
		t.Fatalf("no answer from the route in the block's output:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var page struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &page); err != nil || len(page.Data) != 1 {
		t.Fatalf("want the built-in data plane listed last: %v:\n%s", err, out)
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
	case <-time.After(60 * time.Second):
		t.Fatal("skyport local did not stop within 60s of Ctrl-C")
	}

	// A second start resumes with the same state.
	start(t, "make-run-again", nil, args...)
	ready(t, ports.status, 60*time.Second)
	waitApplied(t, ports.admin, ports.status)
	mustRequest(t, http.StatusOK, http.MethodGet, "http://"+ports.proxy+"/example", nil)
}

// TestReadmeRewrite: every default address the README may use is
// rewritten, and a command that reaches a gateway without naming one is
// caught.
func TestReadmeRewrite(t *testing.T) {
	t.Parallel()
	p := localPorts{admin: "127.0.0.1:1", proxy: "127.0.0.1:2", proxyTLS: "127.0.0.1:3", status: "127.0.0.1:4", cluster: "127.0.0.1:5"}
	block := fmt.Sprintf("# http://127.0.0.1:%[1]d in a comment\ncurl http://127.0.0.1:%[1]d/x http://localhost:%[2]d/y https://127.0.0.1:%[3]d \\\n"+
		"  http://[::1]:%[4]d ws://127.0.0.1:%[5]d http://127.0.0.1:%[1]d0\nrev=1\n",
		kongAdminPort, kongProxyPort, kongProxyTLSPort, kongStatusPort, kongClusterPort)
	got := p.rewrite(t, block)
	want := fmt.Sprintf("# http://127.0.0.1:1 in a comment\ncurl http://127.0.0.1:1/x http://127.0.0.1:2/y https://127.0.0.1:3 \\\n"+
		"  http://127.0.0.1:4 ws://127.0.0.1:5 http://127.0.0.1:%d0\nrev=1\n", kongAdminPort)
	if got != want {
		t.Fatalf("rewrite:\n got %s\nwant %s", got, want)
	}
	if out := p.rewrite(t, readmeBlock(t)); defaultAddr.MatchString(out) {
		t.Fatalf("a default address is left in %s", out)
	}
	cmds := readmeCommands(t, "curl a \\\n  b\n# c\nd\ne\nf\ng\n")
	if cmds[0] != "curl a b" || len(cmds) != 5 {
		t.Fatalf("commands: %q", cmds)
	}
}
