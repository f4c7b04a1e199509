//go:build linux

package loop

import (
	"math/rand/v2"
	"testing"
)

// The heap pops live entries in order, drops a disarmed connection's at
// once and keeps each live entry's index right.
func TestTimerHeap(t *testing.T) {
	l := &Loop{}
	rng := rand.New(rand.NewPCG(1, 2))
	conns := make([]*Conn, 200)
	for i := range conns {
		conns[i] = &Conn{}
		l.arm(conns[i], i%2 == 0, 1+rng.Int64N(1000))
		if i%3 == 0 {
			// Moved earlier: a second entry replaces the first.
			l.arm(conns[i], i%2 == 0, 1+rng.Int64N(10))
		}
	}
	disarmed := map[*Conn]bool{}
	for i := 0; i < len(conns); i += 4 {
		l.disarm(conns[i])
		disarmed[conns[i]] = true
	}
	for _, c := range conns {
		for _, s := range []*timerSlot{&c.rtimer, &c.wtimer} {
			if s.armed && (l.timers[s.index].c != c || l.timers[s.index].seq != s.seq) {
				t.Fatalf("slot index %d does not hold its entry", s.index)
			}
		}
	}
	var last int64
	live := 0
	for len(l.timers) > 0 {
		e := l.timers.pop()
		if e.when < last {
			t.Fatalf("popped %d after %d", e.when, last)
		}
		last = e.when
		if e.slot().seq != e.seq {
			continue // replaced
		}
		if disarmed[e.c] {
			t.Fatalf("a disarmed connection's entry came up")
		}
		live++
	}
	if want := len(conns) - len(disarmed); live != want {
		t.Errorf("%d live entries, want %d", live, want)
	}
}
