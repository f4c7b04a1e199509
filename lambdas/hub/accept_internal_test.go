package hub

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAcceptLimiterRefills(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	l := newAcceptLimiter(100, now)
	// One attempt every millisecond for ten simulated seconds: no second
	// lets more than 100 through, and the bucket keeps accepting.
	var perSecond [10]int
	for i := range 10_000 {
		if l.allow(now.Add(time.Duration(i) * time.Millisecond)) {
			perSecond[i/1000]++
		}
	}
	for s, n := range perSecond {
		require.LessOrEqual(t, n, 100, "second %d", s)
		require.GreaterOrEqual(t, n, 89, "second %d", s)
	}
}
