package tests

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needDocker skips on a developer machine without Docker and fails in CI.
func needDocker(t *testing.T) {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker is required in CI: %v", err)
		}
		t.Skipf("docker not available: %v", err)
	}
}

// TestImageJoinsLocalControlPlane builds the data-plane image (make image),
// runs it joined to a local control plane, and proxies a request through
// the container; Docker's health check reports it healthy.
func TestImageJoinsLocalControlPlane(t *testing.T) {
	needDocker(t)
	if out, err := exec.Command("make", "-C", "..", "image").CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, tail(string(out), 30))
	}
	dir := t.TempDir()
	cp := startLocalCP(t, filepath.Join(dir, "cp"), nil)
	up := upstream(t, "a")
	mustRequest(t, http.StatusCreated, http.MethodPost, "http://"+cp.admin+"/config", kongYAML(up.URL, up.URL))
	key, err := os.ReadFile(filepath.Join(cp.dataDir, "publisher.pub"))
	if err != nil {
		t.Fatal(err)
	}
	proxy, status := addr(freePort(t)), addr(freePort(t))
	name := fmt.Sprintf("skyport-e2e-%d", time.Now().UnixNano())
	args := []string{"run", "-d", "--name", name, "--network", "host",
		"-e", "SKYPORT_CP_URL=ws://" + cp.cluster,
		"-e", "SKYPORT_VERIFY_KEY=" + string(key),
		"-e", "SKYPORT_NODE_ID=container-dp",
		"-e", "SKYPORT_PROXY_LISTEN=" + proxy,
		"-e", "SKYPORT_PROXY_TLS_LISTEN=" + addr(freePort(t)),
		"-e", "SKYPORT_STATUS_LISTEN=" + status,
		"skyport:dev"}
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", "--tail", "60", name).CombinedOutput()
			t.Logf("---- container logs ----\n%s", out)
		}
		_ = exec.Command("docker", "rm", "-f", name).Run()
	})
	ready(t, status, 60*time.Second)
	eventually(t, time.Minute, "proxied through the container", func() error {
		return served(proxy, "alpha.test", "/", "a")
	})
	eventually(t, 60*time.Second, "docker reports the container healthy", func() error {
		out, err := exec.Command("docker", "inspect", "--format", "{{.State.Health.Status}} {{.Config.User}}", name).Output()
		if err != nil {
			return err
		}
		if !strings.HasPrefix(string(out), "healthy 65532") {
			return fmt.Errorf("health and user: %s", out)
		}
		return nil
	})
	rows := dataPlanes(t, cp.admin)
	found := false
	for _, r := range rows {
		found = found || r.ID == "container-dp"
	}
	if !found {
		t.Errorf("container-dp not in /clustering/data-planes: %+v", rows)
	}
}
