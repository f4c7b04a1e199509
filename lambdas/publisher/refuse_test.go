package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/preflight"
	"github.com/skyport-gw/skyport/internal/model"
	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/publisher"
	"github.com/skyport-gw/skyport/lambdas/store"
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

// hostValidator is a publisher.ChangeValidator that refuses a service
// whose host is "refused.test", and records how it was asked: "whole"
// (Check) or "change" (CheckChange), with the revision's service count.
type hostValidator struct {
	mu    sync.Mutex
	calls []string
}

func (v *hostValidator) Check(_ context.Context, cfg *model.Config) error {
	return v.judge("whole", cfg, cfg)
}

func (v *hostValidator) CheckChange(_ context.Context, base, next, upserts *model.Config, _ map[model.Kind][]string) error {
	if base == nil || next == nil {
		return errors.New("no base")
	}
	return v.judge("change", next, upserts)
}

func (v *hostValidator) judge(how string, cfg, part *model.Config) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls = append(v.calls, fmt.Sprintf("%s:%d", how, len(cfg.Services)))
	for _, s := range part.Services {
		if s.Host == "refused.test" {
			return fmt.Errorf("service %s: refused", s.ID)
		}
	}
	return nil
}

func (v *hostValidator) take() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := v.calls
	v.calls = nil
	return out
}

// TestValidatesTheChange: a revision read from the change log is checked
// from its change against the base this publisher's Validator accepted; a
// revision sealed whole, the first one, and the first after a cold start
// (its base read back from object storage) are compiled whole. A revision
// refused from its change is not published, and the next is checked from
// the last accepted base.
func TestValidatesTheChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, priv := newKey(t)
	objects := newDir(t)
	st := chainStore(t)
	v := &hostValidator{}
	var refused []int64
	opts := publisher.Options{Source: st, Objects: objects, Key: priv, Validator: v, FullEvery: 3, FullRatio: 100,
		OnRefused: func(rev int64, _ error) { refused = append(refused, rev) }, Logger: quiet()}
	p := publisher.New(opts)

	ptr := createAndPublish(t, st, p, 1)
	require.Zero(t, ptr.Full)
	require.Equal(t, []string{"whole:1"}, v.take(), "the first revision has no base")
	ptr = createAndPublish(t, st, p, 2)
	require.EqualValues(t, 1, ptr.Full)
	require.Equal(t, []string{"change:2"}, v.take())

	bad := numberedService(3, "refused.test")
	_, err := st.Create(ctx, bad, store.Origin{RequestID: "test"})
	require.NoError(t, err)
	ptr, err = p.Publish(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, ptr.Revision, "refused")
	require.Equal(t, []string{"change:3"}, v.take())
	require.Len(t, refused, 1)

	good := numberedService(3, "accepted.test")
	_, ver, err := st.GetVersioned(ctx, model.KindService, good.ID)
	require.NoError(t, err)
	_, err = st.Update(ctx, good, ver, store.Origin{RequestID: "test"})
	require.NoError(t, err)
	ptr, err = p.Publish(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 4, ptr.Revision)
	require.EqualValues(t, 1, ptr.Full)
	require.Equal(t, []string{"change:3"}, v.take(), "checked from the change since revision 2")

	ptr = createAndPublish(t, st, p, 5)
	require.Zero(t, ptr.Full, "the schedule's full snapshot")
	require.Equal(t, []string{"change:4", "whole:4"}, v.take(), "a full snapshot is compiled whole")

	// A cold publisher reads its base back: compiled whole once.
	cold := publisher.New(opts)
	ptr = createAndPublish(t, st, cold, 6)
	require.EqualValues(t, 5, ptr.Full)
	require.Equal(t, []string{"whole:5"}, v.take())
	createAndPublish(t, st, cold, 7)
	require.Equal(t, []string{"change:6"}, v.take())
}
