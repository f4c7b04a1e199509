package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
)

// writeKongYML writes n services of upstream, route /r<i> each.
func writeKongYML(t *testing.T, upstream string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\nservices:\n")
	for i := range n {
		fmt.Fprintf(&b, "- name: svc-%d\n  url: %s\n  routes:\n  - name: route-%d\n    paths: [\"/r%d\"]\n", i, upstream, i, i)
	}
	path := filepath.Join(t.TempDir(), "kong.yml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

// push runs `skyport config push` as its own process.
func push(t *testing.T, bin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, append([]string{"config", "push"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// exercisePush loads a configuration with `skyport config push` into a
// running `skyport local`, sees the built-in data plane serve it, then
// pushes a bad one: exit 1, one line, the configuration unchanged.
func exercisePush(t *testing.T, env []string, token string, args ...string) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "from upstream")
	}))
	t.Cleanup(upstream.Close)
	bin := buildSkyport(t)
	args = append([]string{"--data-dir", t.TempDir()}, args...)
	if token != "" {
		args = append(args, "--admin-token", token)
	}
	p := startLocal(t, bin, env, args...)
	admin := []string{"--admin-url", "http://" + p.admin, "--poll", "50ms"}
	if token != "" {
		admin = append(admin, "--admin-token", token)
	}

	file := writeKongYML(t, upstream.URL, 120)
	out, errOut, err := push(t, bin, append([]string{file}, admin...)...)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "240 entities loaded as revision")
	require.Contains(t, out, "100%", "the progress line reaches 100%% when not on a terminal")
	served(t, p, "/r0")
	served(t, p, "/r119")

	bad := filepath.Join(t.TempDir(), "bad.yml")
	require.NoError(t, os.WriteFile(bad, []byte("_format_version: \"3.0\"\nroutes:\n- name: r\n  paths: [/x]\n  service: nowhere\n"), 0o600))
	out, errOut, err = push(t, bin, append([]string{bad}, admin...)...)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 1, exit.ExitCode())
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	require.Len(t, lines, 1, errOut)
	require.Regexp(t, `^skyport config: import [0-9a-f-]+ failed: .*nowhere`, lines[0])
	require.NotContains(t, out, "loaded as revision")
	served(t, p, "/r0")

	if token != "" {
		_, errOut, err = push(t, bin, file, "--admin-url", "http://"+p.admin, "--admin-token", "wrong")
		require.Error(t, err)
		require.Contains(t, errOut, "HTTP 401: Invalid authentication credentials")
	}
	p.stop(t)
}

func TestConfigPushLocal(t *testing.T) {
	t.Parallel()
	exercisePush(t, nil, "")
}

func TestConfigPushLocalAWS(t *testing.T) {
	t.Parallel()
	moto := motoserver.Start(t)
	exercisePush(t, moto.SerialEnv(t), "s3cret", "--backend", "aws", "--create",
		"--table", "cfg", "--cluster-table", "cluster", "--bucket", "s3://snapshots/local")
}

func TestConfigPushUsage(t *testing.T) {
	t.Parallel()
	bin := buildSkyport(t)
	for _, tc := range []struct {
		desc string
		args []string
		want string
	}{
		{desc: "no file", args: nil, want: "Usage: skyport config push FILE"},
		{desc: "bad url", args: []string{"kong.yml", "--admin-url", "ftp://x"}, want: "skyport config: --admin-url \"ftp://x\": want http(s)://host[:port]"},
		{desc: "missing file", args: []string{filepath.Join(t.TempDir(), "none.yml"), "--admin-url", "http://127.0.0.1:1"}, want: "no such file or directory"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, errOut, err := push(t, bin, tc.args...)
			require.Error(t, err)
			require.Contains(t, errOut, tc.want)
		})
	}
}

// TestConfigPushIAM: with --admin-auth iam every Admin API call is signed
// for execute-api with the SDK's credentials, and a refusal is one line.
func TestConfigPushIAM(t *testing.T) {
	t.Parallel()
	var auth, date string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, date = r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"Forbidden"}`)
	}))
	t.Cleanup(api.Close)
	file := writeKongYML(t, "http://upstream.test", 1)
	cmd := exec.Command(buildSkyport(t), "config", "push", file, "--admin-url", api.URL, "--admin-auth", "iam")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDPUSHTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_REGION=eu-west-3",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	require.Error(t, cmd.Run())
	require.Equal(t, "skyport config: creating an import job: HTTP 403: Forbidden\n", errb.String())
	require.Regexp(t, `^AWS4-HMAC-SHA256 Credential=AKIDPUSHTEST/\d{8}/eu-west-3/execute-api/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`, auth)
	require.NotEmpty(t, date)
}
