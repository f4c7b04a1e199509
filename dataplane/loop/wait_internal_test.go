//go:build linux

package loop

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A park with nothing to do ends at the cap, which doubles up to
// parkCapMax; a wait that brings events puts it back at parkCapMin.
func TestParkCap(t *testing.T) {
	g := &Group{cfg: newConfig(nil)}
	l, err := newLoop(g, func(*Conn) {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.closeFDs)
	for _, want := range []int64{2, 4, 8} {
		n, err := l.wait(-1)
		if err != nil || n != 0 {
			t.Fatalf("idle wait: %d events, %v", n, err)
		}
		if l.parkCap != parkCapMin*time.Duration(want) {
			t.Fatalf("cap %v after an idle park, want %v", l.parkCap, parkCapMin*time.Duration(want))
		}
	}
	l.parkCap = parkCapMax
	if n, err := l.wait(-1); err != nil || n != 0 {
		t.Fatalf("idle wait: %d events, %v", n, err)
	}
	if l.parkCap != parkCapMax {
		t.Fatalf("cap %v past its maximum %v", l.parkCap, parkCapMax)
	}
	// A timer due before the cap runs the park out, not the cap: the
	// cap stays.
	l.parkCap = 4 * parkCapMin
	if n, err := l.wait(1); err != nil || n != 0 {
		t.Fatalf("timed wait: %d events, %v", n, err)
	}
	if l.parkCap != 4*parkCapMin {
		t.Fatalf("cap %v after a timer's wait, want it left at %v", l.parkCap, 4*parkCapMin)
	}
	one := [8]byte{1}
	if _, err := unix.Write(l.evfd, one[:]); err != nil {
		t.Fatal(err)
	}
	if n, err := l.wait(-1); err != nil || n != 1 {
		t.Fatalf("wait with the eventfd written: %d events, %v", n, err)
	}
	if l.parkCap != parkCapMin {
		t.Fatalf("cap %v after a wait with events, want %v", l.parkCap, parkCapMin)
	}
}

// A running loop readies the nudger at most once per nudgeEvery, and only
// while a sibling sleeps.
func TestNudge(t *testing.T) {
	g := &Group{cfg: newConfig(nil), nudges: make(chan struct{}, 8)}
	a, b := &Loop{g: g}, &Loop{g: g}
	g.loops = []*Loop{a, b}
	now := int64(nudgeEvery) * 10
	a.nudge(now)
	if len(g.nudges) != 0 {
		t.Fatalf("nudged with no sibling asleep")
	}
	b.sleeping.Store(true)
	a.nudge(now + 1)
	if len(g.nudges) != 0 {
		t.Fatalf("nudged again within nudgeEvery")
	}
	a.nudge(now + int64(nudgeEvery))
	if len(g.nudges) != 1 {
		t.Fatalf("%d nudges with a sibling asleep, want 1", len(g.nudges))
	}
	a.nudge(now + int64(nudgeEvery) + 1)
	if len(g.nudges) != 1 {
		t.Fatalf("%d nudges within nudgeEvery of the last, want 1", len(g.nudges))
	}
	b.nudge(now + 3*int64(nudgeEvery))
	if len(g.nudges) != 1 {
		t.Fatalf("a loop nudged for itself asleep")
	}
}
