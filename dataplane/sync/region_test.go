package sync_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	dpsync "github.com/skyport-gw/skyport/dataplane/sync"
	"github.com/skyport-gw/skyport/internal/motoserver"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// TestRegionLoss simulates the loss of a data plane's home Region
// (docs/multi-region.md): two emulators stand for two Regions, each with
// its snapshot bucket, and the data plane's fallback lists home first.
// Home is killed; the data plane keeps its configuration, then converges
// from the surviving Region's bucket, applying each revision once.
func TestRegionLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := func(m *motoserver.Server, name string) objstore.Store {
		client := s3.NewFromConfig(m.SerialConfig(), func(o *s3.Options) { o.UsePathStyle = true })
		s := objstore.NewS3(client, name, "cp")
		require.NoError(t, s.CreateBucket(ctx))
		return s
	}
	homeMoto, awayMoto := motoserver.Start(t), motoserver.Start(t)
	home, away := bucket(homeMoto, "skyport-eu"), bucket(awayMoto, "skyport-us")
	pub, priv, err := snapshot.GenerateKey()
	require.NoError(t, err)
	// The writer Region publishes; replication copies to the other bucket.
	publish(t, home, priv, 1)
	publish(t, away, priv, 1)

	a := &fakeApplier{}
	cfg := testConfig(t, pub)
	cfg.CPURL = closedURL(t)
	cfg.Fallback = objstore.NewFailover(home, away)
	c, err := dpsync.New(cfg, a)
	require.NoError(t, err)
	run(t, c)
	require.Eventually(t, func() bool { return a.revision() == 1 }, waitFor, tick)

	homeMoto.Stop()
	// The surviving Region, promoted, publishes the next revision.
	publish(t, away, priv, 2)
	require.Eventually(t, func() bool { return a.revision() == 2 }, waitFor, tick)
	calls, _ := a.applied()
	require.Equal(t, []int64{1, 2}, calls, "each revision applied once, the running one kept meanwhile")
	require.Equal(t, dpsync.SourceFallback, c.SyncState().Source)
}
