package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCIRunNamesWhatIsMissing: on a machine without the emulator and the
// template linter (Python packages Debian does not have), .ci/run stops
// before running anything and names the exact command that installs them.
func TestCIRunNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	for _, tool := range []string{"bash", "go", "node", "docker", "curl", "git", "awk", "id", "dirname", "printf"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s is needed to run .ci/run: %v", tool, err)
		}
		if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("../.ci/run")
	cmd.Env = append(os.Environ(), "PATH="+bin)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf(".ci/run passed without moto_server and cfn-lint:\n%s", out)
	}
	for _, want := range []string{
		"moto_server: python3 -m pip install 'moto[server]==5.2.1' 'cfn-lint==1.51.0'",
		"cfn-lint: python3 -m pip install 'moto[server]==5.2.1' 'cfn-lint==1.51.0'",
	} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("want %q in:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "== make") {
		t.Fatalf(".ci/run went on:\n%s", out)
	}
}
