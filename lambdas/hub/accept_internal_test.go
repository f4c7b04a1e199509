package hub

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAcceptLimiterRefills(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	l := newAcceptLimiter(10, now)
	accepted := 0
	// Over three simulated seconds, one attempt every millisecond: the
	// burst of 10, then 10 a second.
	for i := range 3000 {
		if l.allow(now.Add(time.Duration(i) * time.Millisecond)) {
			accepted++
		}
	}
	require.InDelta(t, 10+30, accepted, 1)
}
