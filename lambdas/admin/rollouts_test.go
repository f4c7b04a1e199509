package admin_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skyport-gw/skyport/internal/objstore"
	"github.com/skyport-gw/skyport/lambdas/admin"
	"github.com/skyport-gw/skyport/lambdas/history"
	"github.com/skyport-gw/skyport/lambdas/rollout"
)

func TestRolloutPolicyEndpoints(t *testing.T) {
	t.Parallel()
	objects, err := objstore.NewDir(filepath.Join(t.TempDir(), "snapshots"))
	require.NoError(t, err)
	ctl := rollout.New(rollout.Options{Objects: objects, History: history.New(objects, history.Retention{}, nil)})
	c := newClient(t, openEmbedded(t), admin.Options{Rollouts: ctl})

	c.must(404, "GET", "/config/rollout-policy", nil)
	body := map[string]any{
		"waves":   []any{map[string]any{"selector": "ring:canary", "bake_seconds": 60.0}, map[string]any{"selector": "*", "bake_seconds": 0.0}},
		"halt_on": map[string]any{"rejected": true, "error_ratio_5xx": 0.05, "min_ack_share": 0.9, "ack_timeout_seconds": 60.0},
	}
	require.Equal(t, body, c.must(200, "PUT", "/config/rollout-policy", body))
	require.Equal(t, body, c.must(200, "GET", "/config/rollout-policy", nil))

	for _, tc := range []struct {
		desc  string
		body  any
		field string
	}{
		{"bad selector", map[string]any{"waves": []any{map[string]any{"selector": "canary"}}}, "waves.1.selector"},
		{"no waves", map[string]any{"waves": []any{}}, "waves"},
		{"unknown field", map[string]any{"waves": []any{map[string]any{"selector": "*"}}, "extra": 1}, "@entity"},
		{"share above 1", map[string]any{"waves": []any{map[string]any{"selector": "*"}}, "halt_on": map[string]any{"min_ack_share": 1.5}}, "halt_on.min_ack_share"},
	} {
		r := c.do("PUT", "/config/rollout-policy", tc.body)
		requireCode(t, r, 400, 2)
		require.Contains(t, r.body["message"], tc.field, "%s: %s", tc.desc, r.raw)
		require.NotEmpty(t, r.body["fields"])
	}
	require.Equal(t, body, c.must(200, "GET", "/config/rollout-policy", nil), "a refused policy changes nothing")

	require.Equal(t, []any{}, c.must(200, "GET", "/config/rollouts", nil)["data"])
	c.must(404, "POST", "/config/rollouts/7/promote", nil)
	c.must(404, "POST", "/config/rollouts/7/halt", nil)
	c.must(400, "POST", "/config/rollouts/x/halt", nil)
	c.must(405, "GET", "/config/rollouts/7/halt", nil)
	c.must(404, "GET", "/config/rollouts/7/other", nil)
	c.must(405, "POST", "/config/rollout-policy", nil)

	c.must(204, "DELETE", "/config/rollout-policy", nil)
	c.must(404, "GET", "/config/rollout-policy", nil)
	c.must(204, "DELETE", "/config/rollout-policy", nil)
}
