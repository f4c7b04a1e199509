package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/snapshot"
	"github.com/skyport-gw/skyport/lambdas/keygen"
	"github.com/skyport-gw/skyport/lambdas/store/dynamo"
)

// upstreamServer answers "from upstream".
func upstreamServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "from upstream")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// addRoute creates service and route name, proxying /name to upstream.
func addRoute(t *testing.T, p *localProcess, upstream, name string) {
	t.Helper()
	adminPost(t, p, "/services", fmt.Sprintf(`{"name":%q,"url":%q}`, name, upstream))
	adminPost(t, p, "/services/"+name+"/routes", fmt.Sprintf(`{"name":%q,"paths":["/%s"]}`, name, name))
}

// notServed waits until the built-in data plane answers 404 for path.
func notServed(t *testing.T, p *localProcess, path string) {
	t.Helper()
	eventually(t, "the data plane answers 404 for "+path, func() bool {
		resp, err := http.Get("http://" + p.proxy + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNotFound
	})
}

// syncState returns the built-in data plane's /status "sync" block.
func syncState(t *testing.T, p *localProcess) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + p.status + "/status")
	require.NoError(t, err)
	defer resp.Body.Close()
	var st struct {
		Sync map[string]any `json:"sync"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return st.Sync
}

// onlyDataPlane waits until one data plane is listed and cond holds of it.
func onlyDataPlane(t *testing.T, p *localProcess, what string, cond func(dp map[string]any) bool) map[string]any {
	t.Helper()
	var got map[string]any
	eventually(t, what, func() bool {
		dps := dataPlanes(t, p)
		if len(dps) != 1 || !cond(dps[0]) {
			return false
		}
		got = dps[0]
		return true
	})
	return got
}

func awsLocalArgs(dataDir, table string) []string {
	return []string{"--data-dir", dataDir, "--backend", "aws", "--table", table,
		"--cluster-table", "cluster", "--bucket", "s3://snapshots/local"}
}

// TestLocalDataDirAcrossBackends: a data directory used with the embedded
// store, then with --backend aws. The built-in data plane's cache holds
// the embedded cluster's configuration, signed with the key the embedded
// backend keeps in the data directory; the aws backend signs with the key
// it keeps in Secrets Manager and is another cluster. The data plane does
// not ignore the new revisions silently: it refuses them and says so (an
// ERROR, /status, sync_status cluster_mismatch) until it is allowed to
// adopt the cluster; then it follows it, for good.
func TestLocalDataDirAcrossBackends(t *testing.T) {
	t.Parallel()
	moto := motoserver.Start(t)
	bin := buildSkyport(t)
	dir := t.TempDir()
	upstream := upstreamServer(t)

	p := startLocal(t, bin, nil, "--data-dir", dir)
	for _, name := range []string{"one", "two", "three"} {
		addRoute(t, p, upstream, name)
	}
	served(t, p, "/three")
	p.stop(t)
	embeddedKey, err := os.ReadFile(filepath.Join(dir, "publisher.pub"))
	require.NoError(t, err)

	args := append(awsLocalArgs(dir, "cfg"), "--create")
	p = startLocal(t, bin, moto.Env(), args...)
	addRoute(t, p, upstream, "aws")
	dp := onlyDataPlane(t, p, "the data plane reports a cluster mismatch", func(dp map[string]any) bool {
		return dp["sync_status"] == "cluster_mismatch"
	})
	require.Contains(t, dp["error"], "--adopt-cluster")
	st := syncState(t, p)
	require.Equal(t, "cluster_mismatch", st["reason"])
	require.Equal(t, "lost", st["cache"], "the cache was signed with the embedded backend's key")
	require.Contains(t, st["last_error"], "cached revision 6 of cluster")
	notServed(t, p, "/aws")
	p.stop(t)
	logs := p.stderr.String()
	require.Contains(t, logs, `"level":"ERROR","msg":"snapshot of another cluster refused"`)
	require.Contains(t, logs, "signing key from Secrets Manager")
	awsKey, err := os.ReadFile(filepath.Join(dir, "publisher.pub"))
	require.NoError(t, err)
	require.NotEqual(t, embeddedKey, awsKey, "publisher.pub is the aws backend's key now")

	// Allowed to adopt the cluster, the data plane follows it.
	p = startLocal(t, bin, moto.Env(), append(args, "--adopt-cluster")...)
	served(t, p, "/aws")
	notServed(t, p, "/one")
	dp = onlyDataPlane(t, p, "the data plane is in sync", func(dp map[string]any) bool { return dp["sync_status"] == "normal" })
	require.True(t, snapshot.IsClusterID(dp["cluster_id"].(string)), "%v", dp)
	p.stop(t)
	require.Contains(t, p.stderr.String(), "adopting another cluster")

	// The cache now holds the new cluster: no flag needed any more.
	p = startLocal(t, bin, moto.Env(), args...)
	served(t, p, "/aws")
	addRoute(t, p, upstream, "again")
	served(t, p, "/again")
	p.stop(t)
	require.NotContains(t, p.stderr.String(), "refused")
}

// TestLocalRestoredTable restores the configuration table as DynamoDB does
// (a new table with a copy of the items, taken at revision 2) after the
// data plane ran revision 4, and points the control plane at it: the
// publisher starts a new epoch, and the data plane follows it back to
// revision 2, then on, saying so.
func TestLocalRestoredTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	moto := motoserver.Start(t)
	ddb := dynamodb.NewFromConfig(moto.Config())
	bin := buildSkyport(t)
	dir := t.TempDir()
	upstream := upstreamServer(t)

	p := startLocal(t, bin, moto.Env(), append(awsLocalArgs(dir, "cfg"), "--create")...)
	addRoute(t, p, upstream, "one")
	served(t, p, "/one")
	require.NoError(t, dynamo.New(ddb, "cfg-restored").CreateTable(ctx))
	copyTable(t, ddb, "cfg", "cfg-restored")
	addRoute(t, p, upstream, "two")
	served(t, p, "/two")
	first := onlyDataPlane(t, p, "the data plane runs revision 4", func(dp map[string]any) bool { return dp["revision"] == float64(4) })
	p.stop(t)

	p = startLocal(t, bin, moto.Env(), awsLocalArgs(dir, "cfg-restored")...)
	notServed(t, p, "/two")
	served(t, p, "/one")
	dp := onlyDataPlane(t, p, "the data plane runs revision 2 of epoch 2", func(dp map[string]any) bool {
		return dp["revision"] == float64(2) && dp["epoch"] == float64(2) && dp["sync_status"] == "normal"
	})
	require.Equal(t, first["cluster_id"], dp["cluster_id"], "the same cluster")
	addRoute(t, p, upstream, "three")
	served(t, p, "/three")
	onlyDataPlane(t, p, "the new epoch moves on", func(dp map[string]any) bool {
		return dp["revision"] == float64(4) && dp["epoch"] == float64(2)
	})
	p.stop(t)
	logs := p.stderr.String()
	require.Contains(t, logs, "the configuration store was restored")
	require.Contains(t, logs, "following a new epoch of the cluster")
	require.NotContains(t, logs, "refused")
}

// TestLocalFreshDataDirOnExistingStack: the table, the bucket and the
// signing-key secret exist (the secret as the stack's keygen writes it,
// mid-rotation: a current and a next key); a control plane started with a
// fresh data directory signs with the stack's key, and both the built-in
// data plane and another one given the verify keys it writes verify its
// snapshots.
func TestLocalFreshDataDirOnExistingStack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	moto := motoserver.Start(t)
	bin := buildSkyport(t)
	upstream := upstreamServer(t)
	secret := &keygen.Secret{Current: newKeyPEM(t), Next: newKeyPEM(t)}
	sm := secretsmanager.NewFromConfig(moto.Config())
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("stack-signing-key"), SecretString: aws.String(secret.String()),
	})
	require.NoError(t, err)
	args := func(dir string) []string {
		return append(awsLocalArgs(dir, "cfg"), "--signing-key-secret", "stack-signing-key")
	}

	// A secret that does not exist is not made up without --create.
	missing := exec.Command(bin, append([]string{"local"}, append(awsLocalArgs(t.TempDir(), "cfg"), "--signing-key-secret", "nope")...)...)
	missing.Env = append(os.Environ(), moto.Env()...)
	out, err := missing.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "--signing-key-secret nope does not exist")
	require.Equal(t, 1, strings.Count(string(out), "\n"), "a one-line error: %s", out)

	p := startLocal(t, bin, moto.Env(), append(args(t.TempDir()), "--create")...)
	addRoute(t, p, upstream, "echo")
	served(t, p, "/echo")
	p.stop(t)

	fresh := t.TempDir()
	p = startLocal(t, bin, moto.Env(), args(fresh)...)
	served(t, p, "/echo")
	pem, err := os.ReadFile(filepath.Join(fresh, "publisher.pub"))
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(pem), "BEGIN PUBLIC KEY"), "the current and the next key")
	_, err = os.Stat(filepath.Join(fresh, "publisher.key"))
	require.ErrorIs(t, err, os.ErrNotExist, "the signing key stays in Secrets Manager")

	dp := &localProcess{proxy: freeAddr(t), status: freeAddr(t), stderr: &bytes.Buffer{}}
	dp.cmd = exec.Command(bin, "dp", "--fallback-url", "s3://snapshots/local", "--verify-key", filepath.Join(fresh, "publisher.pub"),
		"--cache-dir", t.TempDir(), "--proxy-listen", dp.proxy, "--proxy-tls-listen", "", "--status-listen", dp.status)
	dp.cmd.Env = append(os.Environ(), moto.Env()...)
	dp.cmd.Stderr = dp.stderr
	require.NoError(t, dp.cmd.Start())
	t.Cleanup(func() {
		_ = dp.cmd.Process.Kill()
		_ = dp.cmd.Wait()
		if t.Failed() {
			t.Logf("skyport dp stderr:\n%s", dp.stderr)
		}
	})
	served(t, dp, "/echo")
	p.stop(t)
	require.NotContains(t, p.stderr.String(), "signature invalid")
}

func newKeyPEM(t *testing.T) string {
	t.Helper()
	_, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	pem, err := snapshot.MarshalPrivateKey(priv)
	require.NoError(t, err)
	return string(pem)
}

// copyTable copies every item of table from into table to, as a restore
// does.
func copyTable(t *testing.T, ddb *dynamodb.Client, from, to string) {
	t.Helper()
	ctx := context.Background()
	pages := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(from), ConsistentRead: aws.Bool(true)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		require.NoError(t, err)
		for _, it := range page.Items {
			_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(to), Item: it})
			require.NoError(t, err)
		}
	}
}
