//go:build linux

package loop

import (
	"math/rand/v2"
	"testing"
	"time"
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

// Deadlines go onto the monotonic deadline clock and back: none stays
// none, a time before the clock's origin is long past (not none), a time
// from time.Now keeps its instant, and a wall-clock time without a
// monotonic reading lands where the monotonic clock will reach it.
func TestDeadlineClock(t *testing.T) {
	if got := deadlineNanos(time.Time{}); got != 0 {
		t.Errorf("zero time: %d, want 0 (none)", got)
	}
	if got := deadlineNanos(time.Unix(1, 0)); got != 1 {
		t.Errorf("a time long past: %d, want 1", got)
	}
	now := monoNow()
	if now <= 0 {
		t.Fatalf("monoNow %d, want > 0", now)
	}
	for _, tc := range []struct {
		name string
		d    time.Duration
	}{{"past", -time.Microsecond}, {"future", time.Hour}} {
		t.Run(tc.name, func(t *testing.T) {
			dl := time.Now().Add(tc.d)
			ns := deadlineNanos(dl)
			if !deadlineTime(ns).Equal(dl) {
				t.Errorf("round trip: %v, want %v", deadlineTime(ns), dl)
			}
			if passed := ns <= monoNow(); passed != (tc.d < 0) {
				t.Errorf("passed %v for a deadline %v from now", passed, tc.d)
			}
			// The same instant as wall-clock nanoseconds alone: within a
			// second of the monotonic reading's (the wall clock may be
			// stepped meanwhile, but not by that much in a test).
			wall := deadlineNanos(time.Unix(0, dl.UnixNano()))
			if diff := wall - ns; diff < -int64(time.Second) || diff > int64(time.Second) {
				t.Errorf("wall-clock deadline %d, monotonic %d", wall, ns)
			}
		})
	}
}
