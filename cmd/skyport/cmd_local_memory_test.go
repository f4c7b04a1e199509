package main

import (
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
