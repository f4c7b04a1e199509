package main

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReleaseNow checks that releaseNow releases at once and cancels the
// release an apply scheduled, which would otherwise run again during
// traffic.
func TestReleaseNow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		applied bool
	}{
		{desc: "after an apply", applied: true},
		{desc: "with nothing scheduled"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			p := &releasingProxy{release: func() { n.Add(1) }, delay: time.Hour}
			if tt.applied {
				p.released()
			}
			p.releaseNow()
			require.EqualValues(t, 1, n.Load(), "released once, at once")
			if tt.applied {
				p.mu.Lock()
				pending := p.timer.Stop()
				p.mu.Unlock()
				require.False(t, pending, "the scheduled release is canceled")
			}
		})
	}
}
