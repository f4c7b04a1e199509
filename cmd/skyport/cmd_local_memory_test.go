package main

import (
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMemoryLimitFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc  string
		value string
		dp    bool
		want  int64
		err   bool
	}{
		{desc: "auto, control plane alone", value: "auto", want: 768 << 20},
		{desc: "auto with the built-in data plane", value: "auto", dp: true, want: 1536 << 20},
		{desc: "a size", value: "2g", want: 2 << 30},
		{desc: "none", value: "0", want: 0},
		{desc: "not a size", value: "lots", err: true},
		{desc: "negative", value: "-1m", err: true},
		{desc: "one byte", value: "1", err: true},
		{desc: "under the minimum", value: "63m", err: true},
		{desc: "the minimum", value: "64m", want: 64 << 20},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			o := localOptions{MemoryLimit: tc.value, DP: tc.dp}
			got, err := o.memoryLimit()
			if tc.err {
				require.ErrorContains(t, err, "--memory-limit")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestSetMemoryLimitYieldsToGOMEMLIMIT: the flag's limit is applied,
// unless GOMEMLIMIT is set, which the runtime applied and which wins.
// Not parallel: it sets the environment and the process's limit (a
// large one, restored after).
func TestSetMemoryLimitYieldsToGOMEMLIMIT(t *testing.T) {
	prior := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prior) })
	log := slog.New(slog.DiscardHandler)

	t.Setenv("GOMEMLIMIT", "")
	setMemoryLimit(1<<40, log)
	require.Equal(t, int64(1<<40), debug.SetMemoryLimit(-1), "applied without GOMEMLIMIT")

	t.Setenv("GOMEMLIMIT", "1TiB")
	setMemoryLimit(2<<40, log)
	require.Equal(t, int64(1<<40), debug.SetMemoryLimit(-1), "GOMEMLIMIT wins")
}
