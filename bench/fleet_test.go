package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFleet runs the fleet simulator small, each data plane compiling
// its configurations in a proxy: every data plane converges on
// every write and after a control plane crash, none applies a revision
// twice, and the registry reports the last revision for each.
func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the fleet run builds skyport and runs a control plane (make test runs it)")
	}
	dir := t.TempDir()
	e := &env{dir: dir, binary: filepath.Join(dir, "skyport")}
	require.NoError(t, buildSkyport(e))
	const n = 200
	res, err := fleet(context.Background(), e, fleetOptions{dps: n, writes: 2, backend: "embedded", storm: true, compile: true, timeout: 3 * time.Minute})
	require.NoError(t, err)
	require.Empty(t, res.Errors)
	require.Len(t, res.Writes, 2)
	for _, w := range res.Writes {
		require.Equal(t, n, w.Converged, "revision %d", w.Revision)
	}
	require.NotNil(t, res.Storm)
	require.Equal(t, n, res.Storm.After.Converged)
	require.Zero(t, res.DupApplies)
	require.Equal(t, n, res.RegistryAtFinal)
	require.GreaterOrEqual(t, res.Upgrades, int64(2*n))
}
