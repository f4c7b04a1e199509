package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/freeport"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// revApplier records the revision applied.
type revApplier struct{ rev atomic.Int64 }

func (a *revApplier) Apply(_ context.Context, _ *model.Config, rev int64, _ string) error {
	a.rev.Store(rev)
	return nil
}

func (a *revApplier) Current() (int64, string) { return a.rev.Load(), "" }

// TestStartSyncS3Fallback runs the data plane's fallback against the AWS
// emulator: --fallback-url s3://bucket/prefix with the SDK's own endpoint
// variables, as in a container without a reachable control plane.
func TestStartSyncS3Fallback(t *testing.T) {
	moto := motoserver.Start(t)
	for _, kv := range moto.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	client := s3.NewFromConfig(moto.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	store := objstore.NewS3(client, "snapshots", "prod/eu")
	require.NoError(t, store.CreateBucket(ctx))
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	data, p, err := snapshot.Seal(&snapshot.Document{Revision: 4}, priv, time.Now())
	require.NoError(t, err)
	_, err = store.Put(ctx, p.Key, data, objstore.Condition{IfNoneMatch: true})
	require.NoError(t, err)
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	_, err = store.Put(ctx, snapshot.LatestKey, raw, objstore.Condition{})
	require.NoError(t, err)

	pemPub, err := snapshot.MarshalPublicKey(pub)
	require.NoError(t, err)
	o := dpOptions{
		FallbackURL:  "s3://snapshots/prod/eu",
		VerifyKey:    string(pemPub),
		CacheDir:     t.TempDir(),
		FallbackPoll: time.Hour,
	}
	a := &revApplier{}
	rep, _, err := startSync(ctx, &o, a, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return a.rev.Load() == 4 }, 20*time.Second, 20*time.Millisecond)
	require.Equal(t, "fallback", rep.SyncState().Source)
	// Saved to the cache directory before the test removes it.
	require.Eventually(t, func() bool { return rep.SyncState().Cache == "ok" }, 20*time.Second, 20*time.Millisecond)
}

// TestStartSyncHTTPFallback follows a snapshot layout served over HTTP
// (a CDN in front of the bucket), with a bucket that is down listed first.
func TestStartSyncHTTPFallback(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	data, p, err := snapshot.Seal(&snapshot.Document{Revision: 7}, priv, time.Now())
	require.NoError(t, err)
	_, err = dir.Put(ctx, p.Key, data, objstore.Condition{IfNoneMatch: true})
	require.NoError(t, err)
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	_, err = dir.Put(ctx, snapshot.LatestKey, raw, objstore.Condition{})
	require.NoError(t, err)
	srv := httptest.NewServer(http.StripPrefix("/cp/", http.FileServer(http.Dir(dir.Root()))))
	t.Cleanup(srv.Close)

	pemPub, err := snapshot.MarshalPublicKey(pub)
	require.NoError(t, err)
	o := dpOptions{
		FallbackURL:  closedHTTP(t) + "/cp," + srv.URL + "/cp",
		VerifyKey:    string(pemPub),
		CacheDir:     t.TempDir(),
		FallbackPoll: time.Hour,
	}
	a := &revApplier{}
	rep, _, err := startSync(ctx, &o, a, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return a.rev.Load() == 7 }, 20*time.Second, 20*time.Millisecond)
	require.Equal(t, "fallback", rep.SyncState().Source)
	// Saved to the cache directory before the test removes it.
	require.Eventually(t, func() bool { return rep.SyncState().Cache == "ok" }, 20*time.Second, 20*time.Millisecond)
}

// closedHTTP is the URL of a loopback port that refuses every
// connection for the rest of the test.
func closedHTTP(t *testing.T) string {
	t.Helper()
	port, release, err := freeport.Refusing()
	require.NoError(t, err)
	t.Cleanup(release)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
