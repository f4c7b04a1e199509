package tests

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"
)

var coldStart = flag.Bool("lambda.coldstart", false, "measure each Lambda's cold start under the emulator and print a BENCHMARKS.md table")

// TestLambdaColdStart measures, for each Lambda binary under the Runtime
// Interface Emulator: the init (the first invocation's latency less a warm
// one's: the bootstrap's start, AWS configuration and reads at cold start),
// the bootstrap's resident memory when idle after it, and the size of the
// arm64 binary `make build` deploys. It asserts nothing about time; run it
// with -lambda.coldstart:
//
//	go test ./tests -run TestLambdaColdStart -lambda.coldstart -v
func TestLambdaColdStart(t *testing.T) {
	if !*coldStart {
		t.Skip("a measurement, not a test: run with -lambda.coldstart")
	}
	lambdaBinaries(t)
	a := newAWSFixture(t)
	a.tables(t, "cold")
	a.bucket(t, "cold-snapshots")
	secret, _, _ := a.signingSecret(t, "cold-signing")
	tok, err := a.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String("cold-token"), SecretString: aws.String("t0ken")})
	require.NoError(t, err)
	conns, endpoint := newConnectionsAPI(t)
	_ = conns

	var adminEv events.APIGatewayV2HTTPRequest
	event(t, "admin_get_iam", &adminEv)
	var connectEv events.APIGatewayWebsocketProxyRequest
	event(t, "cluster_connect", &connectEv)
	var authEv events.APIGatewayCustomAuthorizerRequestTypeRequest
	event(t, "authorizer_connect", &authEv)
	cases := []struct {
		name  string
		env   []string
		event any
	}{
		{"admin", []string{"SKYPORT_TABLE=cold", "SKYPORT_CLUSTER_TABLE=cold-cluster"}, adminEv},
		{"publisher", []string{"SKYPORT_TABLE=cold", "SKYPORT_CLUSTER_TABLE=cold-cluster", "SKYPORT_BUCKET=s3://cold-snapshots/cp",
			"SKYPORT_SIGNING_KEY_SECRET=" + secret, "SKYPORT_WS_ENDPOINT=" + endpoint}, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{}}},
		{"cluster", []string{"SKYPORT_CLUSTER_TABLE=cold-cluster", "SKYPORT_BUCKET=s3://cold-snapshots/cp", "SKYPORT_WS_ENDPOINT=" + endpoint}, connectEv},
		{"authorizer", []string{"SKYPORT_DP_TOKEN_SECRET=" + *tok.ARN}, authEv},
	}
	fmt.Println("| function | init (ms) | first invocation (ms) | warm invocation (ms) | idle RSS (MB) | peak RSS (MB) | arm64 binary (MB) |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, c := range cases {
		f := startFunction(t, c.name, a.env(c.env...)...)
		payload, err := json.Marshal(c.event)
		require.NoError(t, err)
		timed := func() time.Duration {
			start := time.Now()
			_, err := f.Invoke(context.Background(), payload)
			require.NoError(t, err, c.name)
			return time.Since(start)
		}
		first := timed()
		var warm []time.Duration
		for range 9 {
			warm = append(warm, timed())
		}
		sort.Slice(warm, func(i, j int) bool { return warm[i] < warm[j] })
		time.Sleep(500 * time.Millisecond)
		pid, err := f.BootstrapPID()
		require.NoError(t, err)
		rss, hwm := procMemory(t, pid)
		fmt.Printf("| %s | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f |\n", c.name,
			ms(first-warm[4]), ms(first), ms(warm[4]), rss, hwm, arm64Size(t, c.name))
		f.Close()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var memLine = regexp.MustCompile(`(?m)^(VmRSS|VmHWM):\s+(\d+) kB`)

func procMemory(t *testing.T, pid int) (rss, hwm float64) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, m := range memLine.FindAllStringSubmatch(string(data), -1) {
		kb, _ := strconv.ParseFloat(m[2], 64)
		if m[1] == "VmRSS" {
			rss = kb / 1024
		} else {
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

// arm64Size builds the function as `make build` does and returns its size.
func arm64Size(t *testing.T, name string) float64 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", out, "./lambdas/cmd/"+name)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	fi, err := os.Stat(out)
	require.NoError(t, err)
	return float64(fi.Size()) / (1 << 20)
}
