package objstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/objstore/objstoretest"
)

func TestDir(t *testing.T) {
	t.Parallel()
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		d, err := objstore.NewDir(t.TempDir())
		require.NoError(t, err)
		return d
	})
}

func TestDirRefusesEscapingKeys(t *testing.T) {
	t.Parallel()
	d, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	for _, k := range []string{"../x", "a/../../x", "", "dir/"} {
		_, err := d.Put(context.Background(), k, []byte("x"), objstore.Condition{})
		require.Error(t, err, k)
	}
}

func TestDirLeavesNoTemporaryFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d, err := objstore.NewDir(dir)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = d.Put(ctx, "latest.json", []byte("1"), objstore.Condition{IfNoneMatch: true})
	require.NoError(t, err)
	_, err = d.Put(ctx, "latest.json", []byte("2"), objstore.Condition{IfNoneMatch: true})
	require.ErrorIs(t, err, objstore.ErrPrecondition)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), ".tmp-", "temporary file left behind")
	}
	_, err = os.Stat(filepath.Join(dir, "latest.json"))
	require.NoError(t, err)
}

func TestS3(t *testing.T) {
	moto := motoserver.Start(t)
	client := s3.NewFromConfig(moto.SerialConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	var n atomic.Int64
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		bucket := fmt.Sprintf("skyport-test-%d", n.Add(1))
		s := objstore.NewS3(client, bucket, "prod/cp")
		require.NoError(t, s.CreateBucket(context.Background()))
		return s
	})
}

func TestS3Presign(t *testing.T) {
	moto := motoserver.Start(t)
	client := s3.NewFromConfig(moto.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	s := objstore.NewS3(client, "presign", "p")
	ctx := context.Background()
	require.NoError(t, s.CreateBucket(ctx))
	_, err := s.Put(ctx, "snapshots/x.json.gz", []byte("payload"), objstore.Condition{})
	require.NoError(t, err)
	u, err := s.PresignGet(ctx, "snapshots/x.json.gz", time.Minute)
	require.NoError(t, err)
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, "payload", string(body))
}

func TestParseS3URL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in, bucket, prefix string
		fail                     bool
	}{
		{desc: "bucket and prefix", in: "s3://b/p/q", bucket: "b", prefix: "p/q"},
		{desc: "bucket only", in: "s3://b", bucket: "b"},
		{desc: "trailing slash", in: "s3://b/p/", bucket: "b", prefix: "p"},
		{desc: "wrong scheme", in: "file:///x", fail: true},
		{desc: "no bucket", in: "s3:///x", fail: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			b, p, err := objstore.ParseS3URL(tc.in)
			if tc.fail {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.bucket, b)
			require.Equal(t, tc.prefix, p)
		})
	}
}

func TestS3Tag(t *testing.T) {
	moto := motoserver.Start(t)
	client := s3.NewFromConfig(moto.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	s := objstore.NewS3(client, "tags", "cp")
	ctx := context.Background()
	require.NoError(t, s.CreateBucket(ctx))
	_, err := s.Put(ctx, "snapshots/1.json.gz", []byte("x"), objstore.Condition{})
	require.NoError(t, err)
	require.NoError(t, s.Tag(ctx, "snapshots/1.json.gz", map[string]string{"skyport:superseded": "true"}))
	out, err := client.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("tags"), Key: aws.String("cp/snapshots/1.json.gz")})
	require.NoError(t, err)
	require.Len(t, out.TagSet, 1)
	require.Equal(t, "skyport:superseded", *out.TagSet[0].Key)
	require.ErrorIs(t, s.Tag(ctx, "snapshots/absent", map[string]string{"a": "b"}), objstore.ErrNotFound)
}
