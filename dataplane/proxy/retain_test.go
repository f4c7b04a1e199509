package proxy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/dataplane/proxy"
	"github.com/skyport-gw/skyport/internal/model"
)

// TestRetainAfterSwap: Retain gets each applied configuration once it
// serves (so the metrics can drop the series of deleted entities), and
// not a configuration that failed to apply.
func TestRetainAfterSwap(t *testing.T) {
	t.Parallel()
	var got []*model.Config
	var px *proxy.Server
	px = proxy.New(proxy.Options{Retain: func(cfg *model.Config) {
		rev, _ := px.Current()
		require.Equal(t, int64(len(got)+1), rev, "the configuration is swapped in first")
		got = append(got, cfg)
	}})
	defer px.Close()
	first, second := &model.Config{}, &model.Config{}
	require.NoError(t, px.Apply(context.Background(), first, 1, "test"))
	require.NoError(t, px.Apply(context.Background(), second, 2, "test"))
	bad := &model.Config{Services: []*model.Service{{Base: model.Base{ID: "a000-svc"}, Protocol: "gopher", Host: "h"}}}
	require.Error(t, px.Apply(context.Background(), bad, 3, "test"))
	require.Len(t, got, 2)
	require.Same(t, first, got[0])
	require.Same(t, second, got[1])
}
