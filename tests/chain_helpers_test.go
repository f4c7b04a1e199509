package tests

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/delta"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/internal/snapshot"
)

// publishedConfig reads the configuration ptr names as a data plane
// does: the full snapshot, verified, and the deltas chained after it
// (when the revision is published as deltas only), each verified and its
// result's hash checked.
func publishedConfig(t *testing.T, objects objstore.Store, ptr snapshot.Pointer, pub ed25519.PublicKey) *model.Config {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, ptr.Check())
	full := ptr.FullPointer()
	data, _, err := objects.Get(ctx, full.Key)
	require.NoError(t, err)
	doc, err := snapshot.Open(data, full, pub)
	require.NoError(t, err)
	cfg, rev := &doc.Config, full.Revision
	for _, ref := range ptr.Chain {
		dp := delta.Chained(ptr, ref)
		raw, _, err := objects.Get(ctx, dp.Key)
		require.NoError(t, err)
		d, err := delta.Open(raw, dp, pub)
		require.NoError(t, err)
		cfg, err = delta.Apply(cfg, rev, d)
		require.NoError(t, err)
		rev = d.Revision
	}
	require.Equal(t, ptr.Revision, rev)
	return cfg
}
