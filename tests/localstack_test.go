package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// TestLocalStackDeployment runs against the stack `make localstack-deploy`
// put on LocalStack (`make localstack-e2e` sets SKYPORT_LOCALSTACK_OUTPUTS):
// a write through the deployed Admin API reaches S3 through the stream and
// the publisher Lambda, and a data plane fed from the bucket serves it.
// Without LocalStack it is skipped, and says so.
func TestLocalStackDeployment(t *testing.T) {
	path := os.Getenv("SKYPORT_LOCALSTACK_OUTPUTS")
	if path == "" {
		t.Skip("LocalStack is not configured: make localstack-up && make localstack-deploy && make localstack-e2e (needs LOCALSTACK_AUTH_TOKEN; see localstack/README.md)")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var outputs map[string]map[string]string
	if err := json.Unmarshal(raw, &outputs); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	out := outputs["Skyport"]
	for _, k := range []string{"AdminApiUrl", "BucketName", "FallbackUrl", "VerifyKey"} {
		if out[k] == "" {
			t.Fatalf("%s has no %s output", path, k)
		}
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bucket, prefix, err := objstore.ParseS3URL(out["FallbackUrl"])
	if err != nil {
		t.Fatal(err)
	}
	objs := objstore.NewS3(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), bucket, prefix)
	before := int64(0)
	if data, _, err := objs.Get(ctx, snapshot.LatestKey); err == nil {
		var p snapshot.Pointer
		_ = json.Unmarshal(data, &p)
		before = p.Revision
	}

	up := upstream(t, "a")
	admin := out["AdminApiUrl"]
	name := fmt.Sprintf("ls-%d", time.Now().UnixNano())
	mustRequest(t, http.StatusCreated, http.MethodPost, admin+"/services", map[string]any{"name": name, "url": up.URL})
	mustRequest(t, http.StatusCreated, http.MethodPost, admin+"/services/"+name+"/routes",
		map[string]any{"name": name, "hosts": []string{name + ".test"}})
	eventually(t, 2*time.Minute, "publication through the stream", func() error {
		data, _, err := objs.Get(ctx, snapshot.LatestKey)
		if err != nil {
			return err
		}
		var p snapshot.Pointer
		if err := json.Unmarshal(data, &p); err != nil {
			return err
		}
		if p.Revision < before+2 {
			return fmt.Errorf("latest.json at revision %d, want at least %d", p.Revision, before+2)
		}
		return nil
	})
	env := []string{"AWS_REGION=" + aws.ToString(&cfg.Region)}
	// The data plane reads the bucket (the path that works on every
	// LocalStack plan); the WebSocket API needs a paid one.
	dp := startDP(t, "dp-localstack", "", out["FallbackUrl"], out["VerifyKey"], filepath.Join(t.TempDir(), "dp"), env)
	ready(t, dp.status, time.Minute)
	eventually(t, time.Minute, "served from the deployed stack", func() error { return served(dp.proxy, name+".test", "/", "a") })
}
