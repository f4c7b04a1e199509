package publisher_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/preflight"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/publisher"
)

// TestRefusesWhatDataPlanesWouldReject: a revision the data plane's
// compiler refuses is never signed; latest.json stays on the last good
// revision, the history records the refusal once, and the next good
// revision is published.
func TestRefusesWhatDataPlanesWouldReject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	objects, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	hist := history.New(objects, history.Retention{}, nil)
	src := newSource(1, "orders")
	_, key := newKey(t)
	var refused []int64
	pub := publisher.New(publisher.Options{Source: src, Objects: objects, Key: key, History: hist, Logger: quiet(),
		Validator: preflight.New(), OnRefused: func(rev int64, _ error) { refused = append(refused, rev) }})
	_, err = pub.Publish(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, readLatest(t, objects).Revision)

	bad := model.NewPlugin()
	bad.ID, bad.Name, bad.Enabled = "22222222-2222-4222-8222-222222222222", "no-such-plugin", true
	src.mu.Lock()
	src.cfg.Plugins = []*model.Plugin{bad}
	src.rev = 2
	src.mu.Unlock()
	for range 2 {
		ptr, err := pub.Publish(ctx)
		require.NoError(t, err, "a refusal is not a failure to retry")
		require.EqualValues(t, 1, ptr.Revision)
	}
	require.EqualValues(t, 1, readLatest(t, objects).Revision, "data planes stay on the last good revision")
	require.Equal(t, []int64{2}, refused, "refused once")
	rec, err := hist.Get(ctx, testID, 2, 2)
	require.NoError(t, err)
	require.Equal(t, history.StateRefused, rec.State)
	require.Contains(t, rec.Error, "no-such-plugin")
	require.EqualValues(t, 1, rec.Since)
	require.Equal(t, history.Summary{"plugins": {Created: 1}}, rec.Changes)
	_, _, err = objects.Get(ctx, testID.Key(2))
	require.ErrorIs(t, err, objstore.ErrNotFound, "nothing signed")

	src.mu.Lock()
	src.cfg.Plugins = nil
	src.rev = 3
	src.mu.Unlock()
	_, err = pub.Publish(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 3, readLatest(t, objects).Revision)
	rec, err = hist.Get(ctx, testID, 3, 3)
	require.NoError(t, err)
	require.Equal(t, history.StatePublished, rec.State)
	require.EqualValues(t, 1, rec.Since, "changes count from the last published revision")
}
